// A tiny SVG line for table rows: no axes, just the shape of a series.

import { sparkPoints } from "../lib/series";

const NS = "http://www.w3.org/2000/svg";
const W = 120;
const H = 28;

/** sparkline makes an empty [data-testid="sparkline"] SVG; fill it with drawSparkline. */
export function sparkline(): SVGSVGElement {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("data-testid", "sparkline");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("width", String(W));
  svg.setAttribute("height", String(H));
  svg.setAttribute("role", "img");
  svg.setAttribute("data-points", "0");
  return svg;
}

export function drawSparkline(svg: SVGSVGElement, values: number[], color: string, title: string): void {
  svg.textContent = "";
  svg.setAttribute("data-points", String(values.length));
  const t = document.createElementNS(NS, "title");
  t.textContent = title;
  svg.appendChild(t);
  if (values.length === 0) {
    svg.setAttribute("aria-label", "no data");
    return;
  }
  svg.setAttribute("aria-label", title);
  const line = document.createElementNS(NS, "polyline");
  line.setAttribute("points", sparkPoints(values.length === 1 ? [values[0] ?? 0, values[0] ?? 0] : values, W, H, 2));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", color);
  line.setAttribute("stroke-width", "1.5");
  line.setAttribute("stroke-linejoin", "round");
  svg.appendChild(line);
}
