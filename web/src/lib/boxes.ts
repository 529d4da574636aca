// The detection overlay's logic, without the DOM: which boxes are drawn,
// which one is under the pointer, each class's colour, labels, and where a
// counting line's arrow points.

import type { CrossingPoint, Detection, Point } from "../types";
import { fmtScore } from "./format";

/** visibleBoxes keeps the detections scoring at least minScore whose class is not switched off. */
export function visibleBoxes(detections: readonly Detection[], minScore: number, disabled: ReadonlySet<string>): Detection[] {
  return detections.filter((d) => d.score >= minScore && !disabled.has(d.class));
}

/** classesOf lists the classes present, sorted by name. */
export function classesOf(detections: readonly Detection[]): string[] {
  return [...new Set(detections.map((d) => d.class))].sort((a, b) => a.localeCompare(b));
}

function area(d: Detection): number {
  const [x1, y1, x2, y2] = d.box;
  return Math.abs(x2 - x1) * Math.abs(y2 - y1);
}

export function contains(d: Detection, x: number, y: number): boolean {
  const [x1, y1, x2, y2] = d.box;
  return x >= Math.min(x1, x2) && x <= Math.max(x1, x2) && y >= Math.min(y1, y2) && y <= Math.max(y1, y2);
}

/**
 * hitTest finds the box under (x, y), in image pixels. Where boxes overlap the
 * smallest wins (it is the one the pointer can only be over there), then the
 * higher score.
 */
export function hitTest(boxes: readonly Detection[], x: number, y: number): Detection | null {
  let best: Detection | null = null;
  for (const d of boxes) {
    if (!contains(d, x, y)) continue;
    if (best === null || area(d) < area(best) || (area(d) === area(best) && d.score > best.score)) best = d;
  }
  return best;
}

/**
 * toImage maps a pointer position on an element showing the image scaled to
 * rect into image pixels.
 */
export function toImage(
  clientX: number,
  clientY: number,
  rect: { left: number; top: number; width: number; height: number },
  width: number,
  height: number,
): [number, number] {
  const sx = rect.width > 0 ? width / rect.width : 1;
  const sy = rect.height > 0 ? height / rect.height : 1;
  return [(clientX - rect.left) * sx, (clientY - rect.top) * sy];
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/**
 * classColor is a class's fixed colour: the same name always gets the same
 * hue, dark enough for white label text on it and visible on a white page.
 */
export function classColor(name: string): string {
  const hue = Math.round((hash(name) * 0.618033988749895 * 360) % 360);
  return `hsl(${hue} 80% 42%)`;
}

/** boxLabel is the text drawn on a box: class, track id when tracked, score. */
export function boxLabel(d: Detection): string {
  return `${d.class}${d.track_id ? ` #${d.track_id}` : ""} ${fmtScore(d.score)}`;
}

/**
 * inSide is where a line's arrow points: from the line's middle towards
 * the side its "in" crossings go to, the positive side of
 * (B-A) x (P-A) with y down, length long.
 */
export function inSide(from: Point, to: Point, long: number): [Point, Point] {
  const dx = to[0] - from[0];
  const dy = to[1] - from[1];
  const n = Math.hypot(dx, dy) || 1;
  const mid: Point = [(from[0] + to[0]) / 2, (from[1] + to[1]) / 2];
  return [mid, [mid[0] - (dy / n) * long, mid[1] + (dx / n) * long]];
}

/** LineCount is a line's crossings each way. */
export interface LineCount {
  in: number;
  out: number;
}

/** lineTotals adds up crossing buckets per line. */
export function lineTotals(points: readonly CrossingPoint[]): Map<string, LineCount> {
  const out = new Map<string, LineCount>();
  for (const p of points) {
    const c = out.get(p.line) ?? { in: 0, out: 0 };
    c[p.direction] += p.crossings;
    out.set(p.line, c);
  }
  return out;
}

/** lineLabel names a line with its counts, when known. */
export function lineLabel(name: string, c: LineCount | undefined): string {
  return c ? `${name} in ${c.in} out ${c.out}` : name;
}
