// GET /streams/{id}/series → chart data: one x axis (Unix seconds) shared by
// every object, a y array per object with null where it has no bucket.

import type { Series } from "../types";

export type Metric = "avg_per_frame" | "objects" | "max_per_frame";

export const METRICS: { value: Metric; label: string }[] = [
  { value: "avg_per_frame", label: "Average per frame" },
  { value: "objects", label: "Objects (total)" },
  { value: "max_per_frame", label: "Max per frame" },
];

export type Bucket = "minute" | "hour" | "day";

export const BUCKETS: Bucket[] = ["minute", "hour", "day"];

/** The ranges the stream page offers, in seconds; each ends at the stream's newest data. */
export const RANGES: { value: string; label: string; seconds: number }[] = [
  { value: "1h", label: "1 hour", seconds: 3600 },
  { value: "6h", label: "6 hours", seconds: 6 * 3600 },
  { value: "24h", label: "24 hours", seconds: 24 * 3600 },
  { value: "7d", label: "7 days", seconds: 7 * 86400 },
  { value: "30d", label: "30 days", seconds: 30 * 86400 },
  { value: "1y", label: "1 year", seconds: 365 * 86400 },
];

/** The range the page starts with. */
export const DEFAULT_RANGE = "24h";

/**
 * defaultCovers tells whether the API's own default range (to − 24 h, or
 * 30 days with bucket=day, ending with the stream's newest bucket) is the
 * range asked for, so no from/to need be sent.
 */
export function defaultCovers(range: string, bucket: Bucket): boolean {
  return bucket === "day" ? range === "30d" : range === "24h";
}

/** rangeQuery is the from/to of a range ending at end (ms). */
export function rangeQuery(end: number, seconds: number): { from: string; to: string } {
  return { from: new Date(end - seconds * 1000).toISOString(), to: new Date(end).toISOString() };
}

export interface ChartData {
  /** Bucket starts, Unix seconds, ascending, without repeats. */
  xs: number[];
  /** One array per series, aligned on xs. */
  ys: (number | null)[][];
  labels: string[];
  /** Points plotted: the sum over series of their buckets. */
  points: number;
  /** The bucket width the server used, when it said. */
  bucketSeconds: number | null;
}

export function seriesToChart(series: Series[], metric: Metric): ChartData {
  const perSeries: Map<number, number>[] = [];
  const all = new Set<number>();
  let points = 0;
  let bucketSeconds: number | null = null;
  for (const s of series) {
    if (bucketSeconds === null && typeof s.bucket_seconds === "number") bucketSeconds = s.bucket_seconds;
    const values = s[metric] ?? [];
    const m = new Map<number, number>();
    s.buckets.forEach((b, i) => {
      const t = Date.parse(b);
      if (Number.isNaN(t)) return;
      const x = Math.floor(t / 1000);
      const y = values[i];
      if (!m.has(x)) points++;
      m.set(x, typeof y === "number" ? y : 0);
      all.add(x);
    });
    perSeries.push(m);
  }
  const xs = [...all].sort((a, b) => a - b);
  const ys = perSeries.map((m) => xs.map((x) => m.get(x) ?? null));
  return { xs, ys, labels: series.map((s) => s.object), points, bucketSeconds };
}

/** bucketCount is what the chart's data-points must equal: Σ buckets.length. */
export function bucketCount(series: Series[]): number {
  return series.reduce((n, s) => n + s.buckets.length, 0);
}

/**
 * seriesEnd is the end of the newest bucket in the answer, in ms: the time the
 * stream's data ends, which every range is measured back from.
 */
export function seriesEnd(series: Series[]): number | null {
  let end: number | null = null;
  for (const s of series) {
    const width = (s.bucket_seconds ?? 60) * 1000;
    for (const b of s.buckets) {
      const t = Date.parse(b);
      if (Number.isNaN(t)) continue;
      if (end === null || t + width > end) end = t + width;
    }
  }
  return end;
}

/** The span of a chart's x axis, in Unix seconds. */
export interface TimeWindow {
  min: number;
  max: number;
}

/**
 * chartWindow is what a chart's x axis spans: the range its query asked for,
 * [to − seconds, to] (to in ms, as seriesEnd and rangeQuery have it), widened
 * where a point (xs, bucket starts in Unix seconds) lies outside it. Without
 * it uPlot ranges the axis over the points alone, and one point alone gets
 * a range of its own making (years wide).
 */
export function chartWindow(to: number, seconds: number, xs: number[]): TimeWindow {
  let max = Math.floor(to / 1000);
  let min = max - Math.max(1, seconds);
  const first = xs[0];
  const last = xs[xs.length - 1];
  if (first !== undefined && first < min) min = first;
  if (last !== undefined && last > max) max = last;
  return { min, max };
}

/**
 * xScaleRange is the x range for uPlot's asking with min and max: the window
 * when uPlot ranges over the data by itself (on new data, or on a double
 * click), which it does by asking for the first and last x (one point: the
 * point and a range of its own guess); what it asks otherwise (a drag zoom).
 */
export function xScaleRange(win: TimeWindow, xs: number[], min: number | null, max: number | null): [number, number] {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [win.min, win.max];
  const first = xs[0];
  const last = xs[xs.length - 1];
  if (first === undefined || (min === first && (max === last || xs.length === 1))) return [win.min, win.max];
  return [min, max];
}

/** yScaleRange is the y range of a chart whose highest value is max: from 0, with a tenth above the top. */
export function yScaleRange(max: number | null): [number, number] {
  return [0, max !== null && Number.isFinite(max) && max > 0 ? max * 1.1 : 1];
}

/** rangeSeconds reads a range name ("7d"); null when unknown. */
export function rangeSeconds(range: string): number | null {
  return RANGES.find((r) => r.value === range)?.seconds ?? null;
}

/**
 * sparkPoints scales values into an SVG polyline's points within w×h
 * (y grows downwards; the lowest value or 0 sits on the bottom edge).
 */
export function sparkPoints(values: number[], w: number, h: number, pad = 1): string {
  if (values.length === 0) return "";
  const max = Math.max(...values, 0);
  const min = Math.min(...values, 0);
  const span = max - min || 1;
  const step = values.length > 1 ? (w - 2 * pad) / (values.length - 1) : 0;
  return values
    .map((v, i) => {
      const x = pad + i * step;
      const y = h - pad - ((v - min) / span) * (h - 2 * pad);
      return `${round(x)},${round(y)}`;
    })
    .join(" ");
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
