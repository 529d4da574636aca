// The detection overlay: a frame's image with its boxes drawn in the browser
// from the detections JSON, class toggles, a score slider and a hover tip.
// Used by the stream page (latest frame) and the capture page (scrubber).

import { boxLabel, classColor, classesOf, hitTest, inSide, lineLabel, toImage, visibleBoxes } from "../lib/boxes";
import type { LineCount } from "../lib/boxes";
import { h, replace, setText } from "../lib/dom";
import { fmtDate, fmtScore } from "../lib/format";
import type { AnalysedFrame, Detection, TrackingConfig } from "../types";

export const DEFAULT_MIN_SCORE = 0.3;

export interface OverlayView {
  /** An image URL (an object URL is revoked when replaced), or null when there is no image. */
  image: string | null;
  /** The analysed frame, or null when the frame has not been analysed. */
  frame: AnalysedFrame | null;
  /** A line shown under the image, e.g. why there are no boxes. */
  note?: string;
  /** The frame's index, when there is a frame but no analysis of it. */
  index?: number;
}

export class FrameOverlay {
  readonly el: HTMLElement;
  private readonly stage: HTMLDivElement;
  private readonly img: HTMLImageElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly tip: HTMLDivElement;
  private readonly classesEl: HTMLDivElement;
  private readonly slider: HTMLInputElement;
  private readonly sliderOut: HTMLOutputElement;
  private readonly info: HTMLDivElement;
  private readonly noteEl: HTMLDivElement;
  private frame: AnalysedFrame | null = null;
  private objectURL: string | null = null;
  private readonly disabled = new Set<string>();
  private drawn: Detection[] = [];
  private hovered: Detection | null = null;
  private counting: TrackingConfig = {};
  private lineCounts = new Map<string, LineCount>();

  constructor() {
    this.img = h("img", { alt: "", class: "frame-img", decoding: "async" });
    this.canvas = h("canvas", {
      "data-testid": "overlay",
      "data-boxes": 0,
      "data-lines": 0,
      "data-zones": 0,
      class: "frame-overlay",
      width: 16,
      height: 9,
    });
    this.tip = h("div", { class: "overlay-tip", "data-testid": "overlay-tip", role: "tooltip", hidden: true });
    this.stage = h("div", { class: "stage empty" }, this.img, this.canvas, this.tip);
    this.classesEl = h("div", { class: "classes", "aria-label": "Classes shown" });
    this.slider = h("input", {
      type: "range",
      min: 0,
      max: 1,
      step: 0.05,
      value: DEFAULT_MIN_SCORE,
      "data-testid": "min-score",
      "aria-label": "Minimum score",
    });
    this.sliderOut = h("output", { class: "mono" }, fmtScore(DEFAULT_MIN_SCORE));
    this.info = h("div", { class: "muted small frame-info" });
    this.noteEl = h("div", { class: "note", "data-testid": "overlay-note", hidden: true });
    this.el = h(
      "div",
      { class: "overlay-view" },
      h(
        "div",
        { class: "overlay-controls" },
        h("label", { class: "score" }, "Min score ", this.slider, " ", this.sliderOut),
        this.classesEl,
      ),
      this.stage,
      this.noteEl,
      this.info,
    );

    this.slider.addEventListener("input", () => {
      setText(this.sliderOut, fmtScore(this.minScore()));
      this.redraw();
    });
    // data-image says whether the frame's picture is there: loading, loaded or error.
    this.img.addEventListener("load", () => {
      if (!this.frame && this.img.naturalWidth > 0) this.size(this.img.naturalWidth, this.img.naturalHeight);
      this.canvas.dataset.image = "loaded";
    });
    this.img.addEventListener("error", () => {
      if (!this.img.getAttribute("src")) return;
      this.stage.classList.add("no-image");
      this.canvas.dataset.image = "error";
    });
    this.canvas.addEventListener("mousemove", (e) => this.hover(e.clientX, e.clientY));
    this.canvas.addEventListener("mouseleave", () => this.unhover());
  }

  minScore(): number {
    const v = Number(this.slider.value);
    return Number.isFinite(v) ? v : DEFAULT_MIN_SCORE;
  }

  /** show replaces what the overlay shows. */
  show(view: OverlayView): void {
    const previous = this.objectURL;
    this.objectURL = view.image && view.image.startsWith("blob:") ? view.image : null;
    this.frame = view.frame;
    this.stage.classList.toggle("empty", !view.image && !view.frame);
    this.stage.classList.toggle("no-image", !view.image);
    if (view.image && view.image !== this.img.getAttribute("src")) {
      this.canvas.dataset.image = "loading";
      this.img.src = view.image;
    } else if (!view.image) {
      this.img.removeAttribute("src");
      delete this.canvas.dataset.image;
    }
    if (previous && previous !== view.image) URL.revokeObjectURL(previous);
    if (view.frame) this.size(view.frame.width, view.frame.height);
    this.noteEl.hidden = !view.note;
    setText(this.noteEl, view.note ?? "");
    this.renderClasses();
    this.unhover();
    this.redraw();
    // data-frame names the frame drawn, data-boxes (set by redraw) its boxes.
    const index = view.frame?.frame_index ?? view.index;
    if (index === undefined) delete this.canvas.dataset.frame;
    else this.canvas.dataset.frame = String(index);
    const f = view.frame;
    setText(
      this.info,
      f ? `Frame ${f.frame_index} · ${fmtDate(f.ts)} · ${f.model} · ${f.width}×${f.height}` : "",
    );
  }

  /** setCounting draws these lines and zones (a stream's) under the boxes, the lines labelled with counts. */
  setCounting(cfg: TrackingConfig | null | undefined, counts?: Map<string, LineCount>): void {
    this.counting = cfg ?? {};
    if (counts) this.lineCounts = counts;
    this.redraw();
  }

  /** clear shows nothing, with a note. */
  clear(note: string): void {
    this.show({ image: null, frame: null, note });
  }

  destroy(): void {
    this.img.removeAttribute("src");
    if (this.objectURL) URL.revokeObjectURL(this.objectURL);
    this.objectURL = null;
  }

  private size(width: number, height: number): void {
    if (width <= 0 || height <= 0) return;
    if (this.canvas.width !== width) this.canvas.width = width;
    if (this.canvas.height !== height) this.canvas.height = height;
    this.stage.style.aspectRatio = `${width} / ${height}`;
    this.redraw();
  }

  private renderClasses(): void {
    const dets = this.frame?.detections ?? [];
    const classes = classesOf(dets);
    if (classes.length === 0) {
      replace(this.classesEl, h("span", { class: "muted" }, this.frame ? "No detections" : ""));
      return;
    }
    replace(
      this.classesEl,
      classes.map((c) => {
        const box = h("input", { type: "checkbox", "data-class": c });
        box.checked = !this.disabled.has(c);
        box.addEventListener("change", () => {
          if (box.checked) this.disabled.delete(c);
          else this.disabled.add(c);
          this.redraw();
        });
        const n = dets.filter((d) => d.class === c).length;
        return h(
          "label",
          { class: "class-toggle", title: `${n} detection${n === 1 ? "" : "s"} of ${c} (any score)` },
          box,
          h("span", { class: "swatch", style: `background:${classColor(c)}` }),
          c,
        );
      }),
    );
  }

  private redraw(): void {
    const ctx = this.canvas.getContext("2d");
    const dets = this.frame?.detections ?? [];
    this.drawn = this.frame ? visibleBoxes(dets, this.minScore(), this.disabled) : [];
    if (ctx) {
      const { width, height } = this.canvas;
      ctx.clearRect(0, 0, width, height);
      const line = Math.max(2, Math.round(width / 400));
      const font = Math.max(12, Math.round(width / 70));
      ctx.font = `600 ${font}px system-ui, sans-serif`;
      ctx.textBaseline = "top";
      if (this.frame) this.drawCounting(ctx, line, font);
      for (const d of this.drawn) {
        const [x1, y1, x2, y2] = d.box;
        const x = Math.min(x1, x2);
        const y = Math.min(y1, y2);
        const color = classColor(d.class);
        ctx.lineWidth = d === this.hovered ? line * 2 : line;
        ctx.strokeStyle = color;
        ctx.strokeRect(x, y, Math.abs(x2 - x1), Math.abs(y2 - y1));
        const label = boxLabel(d);
        const tw = ctx.measureText(label).width + 6;
        const ty = y - font - 4 >= 0 ? y - font - 4 : y;
        ctx.fillStyle = color;
        ctx.fillRect(x, ty, tw, font + 4);
        ctx.fillStyle = "#fff";
        ctx.fillText(label, x + 3, ty + 2);
      }
    }
    this.canvas.dataset.boxes = String(this.drawn.length);
    this.canvas.dataset.lines = String(this.frame ? (this.counting.lines ?? []).length : 0);
    this.canvas.dataset.zones = String(this.frame ? (this.counting.zones ?? []).length : 0);
  }

  /** drawCounting outlines the zones and draws the lines with an arrow to their "in" side. */
  private drawCounting(ctx: CanvasRenderingContext2D, line: number, font: number): void {
    const name = (text: string, x: number, y: number, color: string): void => {
      const tw = ctx.measureText(text).width + 6;
      ctx.fillStyle = color;
      ctx.fillRect(x, Math.max(0, y - font - 4), tw, font + 4);
      ctx.fillStyle = "#000";
      ctx.fillText(text, x + 3, Math.max(0, y - font - 4) + 2);
    };
    ctx.lineWidth = line;
    for (const z of this.counting.zones ?? []) {
      const [first, ...rest] = z.points;
      if (!first) continue;
      ctx.strokeStyle = "#00c8ff";
      ctx.beginPath();
      ctx.moveTo(first[0], first[1]);
      for (const p of rest) ctx.lineTo(p[0], p[1]);
      ctx.closePath();
      ctx.stroke();
      name(z.name, first[0], first[1], "#00c8ff");
    }
    for (const l of this.counting.lines ?? []) {
      ctx.strokeStyle = "#ffd400";
      ctx.lineWidth = line + 1;
      ctx.beginPath();
      ctx.moveTo(l.from[0], l.from[1]);
      ctx.lineTo(l.to[0], l.to[1]);
      const [mid, tip] = inSide(l.from, l.to, font * 2);
      ctx.moveTo(mid[0], mid[1]);
      ctx.lineTo(tip[0], tip[1]);
      ctx.stroke();
      name(lineLabel(l.name, this.lineCounts.get(l.name)), l.from[0], l.from[1], "#ffd400");
    }
  }

  private hover(clientX: number, clientY: number): void {
    if (!this.frame) return;
    const rect = this.canvas.getBoundingClientRect();
    const [x, y] = toImage(clientX, clientY, rect, this.canvas.width, this.canvas.height);
    const d = hitTest(this.drawn, x, y);
    if (d !== this.hovered) {
      this.hovered = d;
      this.redraw();
    }
    if (!d) {
      this.tip.hidden = true;
      return;
    }
    setText(this.tip, boxLabel(d));
    this.tip.style.borderColor = classColor(d.class);
    const stage = this.stage.getBoundingClientRect();
    const left = Math.min(clientX - stage.left + 12, Math.max(0, stage.width - 140));
    this.tip.style.left = `${left}px`;
    this.tip.style.top = `${Math.max(0, clientY - stage.top + 12)}px`;
    this.tip.hidden = false;
  }

  private unhover(): void {
    this.tip.hidden = true;
    if (this.hovered) {
      this.hovered = null;
      this.redraw();
    }
  }
}
