// The stream page's chart: its top objects over time, drawn by uPlot, with a
// live legend and a tip that follow the cursor.

import uPlot from "uplot";
import { classColor } from "../lib/boxes";
import { h, replace, setText } from "../lib/dom";
import { fmtDate, fmtNum } from "../lib/format";
import { chartWindow, seriesToChart, xScaleRange, yScaleRange, type ChartData, type Metric } from "../lib/series";
import type { Series } from "../types";

const HEIGHT = 280;

/** The time range a chart's query asked for: the `seconds` before `to` (ms). */
export interface ChartRange {
  to: number;
  seconds: number;
}

function tipPlugin(tip: HTMLElement, data: () => ChartData | null): uPlot.Plugin {
  return {
    hooks: {
      setCursor: (u: uPlot) => {
        const idx = u.cursor.idx;
        const d = data();
        const left = u.cursor.left ?? -1;
        if (!d || idx === null || idx === undefined || left < 0) {
          tip.hidden = true;
          return;
        }
        const x = d.xs[idx];
        if (x === undefined) {
          tip.hidden = true;
          return;
        }
        replace(
          tip,
          h("div", { class: "chart-tip-time" }, fmtDate(new Date(x * 1000).toISOString())),
          d.labels.map((label, i) => {
            const y = d.ys[i]?.[idx];
            return h(
              "div",
              null,
              h("span", { class: "swatch", style: `background:${classColor(label)}` }),
              `${label}: `,
              h("b", null, y === null || y === undefined ? "—" : fmtNum(y, 3)),
            );
          }),
        );
        tip.hidden = false;
        const over = u.over.getBoundingClientRect();
        const w = tip.offsetWidth;
        const flip = left + 16 + w > over.width;
        tip.style.left = `${u.over.offsetLeft + (flip ? left - 12 - w : left + 16)}px`;
        tip.style.top = `${u.over.offsetTop + Math.max(0, (u.cursor.top ?? 0) - 10)}px`;
      },
    },
  };
}

export class SeriesChart {
  /** The container, [data-testid="series-chart"], with data-points and data-bucket-seconds. */
  readonly el: HTMLDivElement;
  private readonly plotHost: HTMLDivElement;
  private readonly tip: HTMLDivElement;
  private readonly empty: HTMLDivElement;
  private plot: uPlot | null = null;
  private data: ChartData | null = null;
  private readonly resize: ResizeObserver | null;

  constructor() {
    this.plotHost = h("div", { class: "plot" });
    this.tip = h("div", { class: "chart-tip", hidden: true, "data-testid": "chart-tip" });
    this.empty = h("div", { class: "chart-empty muted", hidden: true });
    this.el = h(
      "div",
      { class: "chart", "data-testid": "series-chart", "data-points": 0, "data-bucket-seconds": "" },
      this.plotHost,
      this.tip,
      this.empty,
    );
    this.resize =
      typeof ResizeObserver === "undefined"
        ? null
        : new ResizeObserver(() => {
            if (this.plot) this.plot.setSize({ width: this.width(), height: HEIGHT });
          });
    this.resize?.observe(this.el);
  }

  private width(): number {
    return Math.max(300, this.el.clientWidth || 800);
  }

  /**
   * set draws the series' metric over the range the query asked for (the x
   * axis spans it, however few the points); bucketSeconds is used when the
   * answer does not say.
   */
  set(series: Series[], metric: Metric, bucketSeconds: number, range: ChartRange | null): void {
    const d = seriesToChart(series, metric);
    this.data = d;
    this.el.dataset.points = String(d.points);
    this.el.dataset.bucketSeconds = String(d.bucketSeconds ?? bucketSeconds);
    this.el.dataset.series = String(d.labels.length);
    this.plot?.destroy();
    this.plot = null;
    this.tip.hidden = true;
    delete this.el.dataset.from;
    delete this.el.dataset.to;
    if (d.xs.length === 0) {
      this.empty.hidden = false;
      setText(this.empty, "No counts in this range yet: they appear once a capture has been analysed and rolled up.");
      return;
    }
    this.empty.hidden = true;
    const last = d.xs[d.xs.length - 1] ?? 0;
    const win = chartWindow(range?.to ?? (last + (d.bucketSeconds ?? bucketSeconds)) * 1000, range?.seconds ?? 86400, d.xs);
    this.el.dataset.from = new Date(win.min * 1000).toISOString();
    this.el.dataset.to = new Date(win.max * 1000).toISOString();
    const opts: uPlot.Options = {
      width: this.width(),
      height: HEIGHT,
      series: [
        { label: "Time", value: (_u, v) => (v === null ? "—" : fmtDate(new Date(v * 1000).toISOString())) },
        ...d.labels.map((label) => ({
          label,
          stroke: classColor(label),
          width: 2,
          value: (_u: uPlot, v: number | null) => (v === null ? "—" : fmtNum(v, 3)),
        })),
      ],
      scales: {
        x: { time: true, range: (_u, min, max) => xScaleRange(win, d.xs, min, max) },
        y: { range: (_u, _min, max) => yScaleRange(max) },
      },
      axes: [{ stroke: "#5b6472" }, { stroke: "#5b6472", size: 56 }],
      cursor: { focus: { prox: 24 }, drag: { x: true, y: false } },
      legend: { live: true },
      plugins: [tipPlugin(this.tip, () => this.data)],
    };
    this.plot = new uPlot(opts, [d.xs, ...d.ys] as uPlot.AlignedData, this.plotHost);
  }

  destroy(): void {
    this.resize?.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }
}
