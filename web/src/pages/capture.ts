// #/captures/<id> — a capture's live progress, a frame scrubber with the
// detection overlay, and its gaps.

import { errorMessage, settle, type PageContext } from "../app";
import { FrameOverlay } from "../components/overlay";
import { api, enc, imageURL, isAbort, isStatus } from "../lib/api";
import { card, emptyRow, h, link, replace, setText, table } from "../lib/dom";
import { fmtDate, fmtMs } from "../lib/format";
import { streamHref } from "../lib/route";
import { debounce } from "../lib/timing";
import type { AnalysedFrame, CaptureStatus, PipelineEvent } from "../types";

function stat(label: string, testid: string): { el: HTMLElement; value: HTMLElement; extra: HTMLElement } {
  const value = h("div", { class: "stat-value", "data-testid": testid }, "—");
  const extra = h("div", { class: "muted small" });
  return { el: h("div", { class: "stat" }, h("div", { class: "stat-label" }, label), value, extra), value, extra };
}

const RUNNING = new Set(["pending", "running"]);

export function capturePage(ctx: PageContext, id: string): void {
  const { signal } = ctx;
  const path = `/captures/${enc(id)}`;
  let status: CaptureStatus | null = null;
  let events = 0;
  let lastLag: number | null = null;

  const run = (p: Promise<unknown>): void => {
    p.catch((err: unknown) => ctx.fail(err));
  };

  const statusEl = h("span", { class: "badge", "data-testid": "capture-status" }, "…");
  const phase = h("span", { class: "muted small", "data-testid": "phase" });
  const streamLink = h("span", { class: "muted" });
  const cancelBtn = h("button", { type: "button", class: "danger", "data-testid": "cancel", hidden: true }, "Cancel capture");
  const cancelNote = h("span", { class: "muted small" });
  const errorBox = h("div", { class: "capture-error error-text", "data-testid": "capture-error", hidden: true });

  const frames = stat("Frames captured", "frames-captured");
  const chunks = stat("Chunks detected", "chunks-detected");
  const analysed = stat("Frames analysed", "frames-analysed");
  const dets = stat("Detections", "detections");
  const lag = stat("Detection lag", "lag");
  const gapsStat = stat("Gaps", "gaps-count");
  const meta = h("dl", { class: "kv" });

  const scrubber = h("input", {
    type: "range",
    min: 0,
    max: 0,
    step: 1,
    value: 0,
    disabled: true,
    "data-testid": "scrubber",
    "aria-label": "Frame",
  });
  const frameLabel = h("span", { class: "mono", "data-testid": "frame-index" }, "—");
  const overlay = new FrameOverlay();
  ctx.onLeave(() => overlay.destroy());

  const gapsT = table("gaps", ["#", "Started", "Ended", "Duration", "Reason"]);

  const root = h(
    "div",
    { "data-testid": "capture-page", "data-events": 0, "data-capture": id },
    h(
      "div",
      { class: "page-head" },
      h("div", null, h("h1", { class: "mono" }, id), h("div", null, streamLink)),
      h("div", { class: "head-actions" }, statusEl, phase, cancelBtn, cancelNote),
    ),
    errorBox,
    h("div", { class: "stats" }, frames.el, chunks.el, analysed.el, dets.el, lag.el, gapsStat.el),
    h(
      "div",
      { class: "grid frame-row" },
      card(
        "Frames",
        "frames",
        h("div", { class: "controls scrub" }, h("label", null, "Frame ", frameLabel), scrubber),
        overlay.el,
      ),
      h("div", { class: "stack" }, card("Capture", "capture-meta", meta), card("Gaps", "gaps", gapsT.table)),
    ),
  );
  replace(ctx.root, root);

  const render = (s: CaptureStatus): void => {
    status = s;
    setText(statusEl, s.status);
    statusEl.className = `badge status-${s.status}`;
    setText(phase, s.progress?.phase ? `phase: ${s.progress.phase}` : "");
    if (s.stream_id) replace(streamLink, "Stream ", link(streamHref(s.stream_id), s.stream_id));
    const running = RUNNING.has(s.status);
    cancelBtn.hidden = !running;
    if (!running) setText(cancelNote, "");
    errorBox.hidden = !s.error;
    setText(errorBox, s.error ?? "");

    const p = s.progress;
    const nFrames = Math.max(s.frames_captured, p?.frames_captured ?? 0);
    setText(frames.value, String(nFrames));
    frames.value.dataset.value = String(nFrames);
    const maxFrames = s.max_frames;
    setText(frames.extra, maxFrames ? `of ${maxFrames}` : "");
    const nChunks = Math.max(s.chunks_detected, p?.chunks_detected ?? 0);
    setText(chunks.value, String(nChunks));
    chunks.value.dataset.value = String(nChunks);
    setText(chunks.extra, `of ${Math.max(s.chunks_written, p?.chunks ?? 0)} written`);
    const nAnalysed = Math.max(s.frames_analysed, p?.frames_analysed ?? 0);
    setText(analysed.value, String(nAnalysed));
    const nDets = Math.max(s.detections, p?.detections ?? 0);
    setText(dets.value, String(nDets));
    dets.value.dataset.value = String(nDets);
    if (p) lastLag = p.lag_ms;
    setText(lag.value, lastLag === null ? "—" : fmtMs(lastLag));
    if (lastLag !== null) lag.value.dataset.value = String(lastLag);
    setText(lag.extra, p ? `worst ${fmtMs(p.max_lag_ms)}` : "");

    replace(
      meta,
      h("dt", null, "Source"),
      h("dd", { class: "mono small" }, s.source ?? "—"),
      h("dt", null, "Sampling"),
      h("dd", null, s.every_ms ? `one frame every ${s.every_ms} ms` : "every frame"),
      h("dt", null, "Chunk frames"),
      h("dd", null, s.chunk_frames ? String(s.chunk_frames) : "—"),
      h("dt", null, "Started"),
      h("dd", null, fmtDate(s.started_at)),
      h("dt", null, "Finished"),
      h("dd", null, fmtDate(s.finished_at)),
    );

    const gaps = s.gaps ?? [];
    setText(gapsStat.value, String(gaps.length));
    replace(
      gapsT.body,
      gaps.length
        ? gaps.map((g) =>
            h(
              "tr",
              { "data-gap": g.gap_index },
              h("td", { class: "num" }, g.gap_index),
              h("td", null, fmtDate(g.started_at)),
              h("td", null, g.ended_at ? fmtDate(g.ended_at) : h("span", { class: "badge status-running" }, "ongoing")),
              h("td", null, g.ended_at ? fmtMs(Date.parse(g.ended_at) - Date.parse(g.started_at)) : "—"),
              h("td", { "data-field": "reason" }, g.reason),
            ),
          )
        : emptyRow(5, "No gaps: the source was read without interruption."),
    );

    // The scrubber spans the frames captured so far.
    const max = Math.max(0, nFrames - 1);
    const wasAtEnd = Number(scrubber.value) >= Number(scrubber.max) && Number(scrubber.max) > 0;
    scrubber.max = String(max);
    scrubber.disabled = nFrames === 0;
    if (wasAtEnd && !running) scrubber.value = String(max);
  };

  const load = async (): Promise<void> => {
    const s = await api.get<CaptureStatus>(path, undefined, signal);
    render(s);
  };

  let frameSeq = 0;
  let shownFrame = -1;
  const loadFrame = async (index: number): Promise<void> => {
    const seq = ++frameSeq;
    setText(frameLabel, String(index));
    if (!status || status.frames_captured + (status.progress?.frames_captured ?? 0) === 0) {
      overlay.clear("No frames captured yet.");
      return;
    }
    const detP: Promise<AnalysedFrame | null> =
      (status.frames_analysed ?? 0) + (status.progress?.frames_analysed ?? 0) > 0
        ? api.get<AnalysedFrame>(`${path}/frames/${index}/detections`, { min_score: 0 }, signal).catch((err: unknown) => {
            if (isStatus(err, 404)) return null;
            throw err;
          })
        : Promise.resolve(null);
    const imgP: Promise<{ url: string | null; why?: string }> = imageURL(`${path}/frames/${index}`, signal).then(
      (url) => ({ url }),
      (err: unknown) => {
        if (isAbort(err)) throw err;
        if (isStatus(err, 404)) return { url: null, why: "This frame was not stored (the capture samples frames, or has not reached it)." };
        if (isStatus(err, 410)) return { url: null, why: "The image expired under the retention policy." };
        return { url: null, why: `No image: ${errorMessage(err)}` };
      },
    );
    const [frame, img] = await Promise.all([detP, imgP]);
    if (seq !== frameSeq) {
      if (img.url) URL.revokeObjectURL(img.url);
      return;
    }
    shownFrame = index;
    const notes: string[] = [];
    if (img.why) notes.push(img.why);
    if (!frame) notes.push("Not analysed yet: no boxes to draw.");
    overlay.show({ image: img.url, frame, note: notes.join(" ") || undefined });
  };

  const scrub = debounce(() => run(loadFrame(Number(scrubber.value))), 120, 400);
  scrubber.addEventListener("input", () => {
    setText(frameLabel, scrubber.value);
    scrub();
  });

  cancelBtn.addEventListener("click", () => {
    cancelBtn.disabled = true;
    api
      .post<unknown>(`${path}/cancel`, undefined, signal)
      .then(() => {
        setText(cancelNote, "Cancel requested: it stores and detects what it read, then ends.");
        refresh();
      })
      .catch((err: unknown) => ctx.fail(err))
      .finally(() => {
        cancelBtn.disabled = false;
      });
  });

  const refresh = debounce(() => run(load()), 300, 1500);
  const refreshFrame = debounce(() => {
    if (shownFrame >= 0 && overlay.el.querySelector(".note:not([hidden])")) run(loadFrame(shownFrame));
  }, 800, 3000);
  ctx.onLeave(() => {
    refresh.cancel();
    scrub.cancel();
    refreshFrame.cancel();
  });

  const onEvent = (ev: PipelineEvent): void => {
    events++;
    root.dataset.events = String(events);
    const data = ev.data ?? {};
    if (ev.capture_id === id) {
      switch (ev.type) {
        case "capture.progress":
          if (typeof data.frames_captured === "number") {
            setText(frames.value, String(data.frames_captured));
            frames.value.dataset.value = String(data.frames_captured);
          }
          break;
        case "capture.finished":
          if (typeof data.status === "string") {
            setText(statusEl, data.status);
            statusEl.className = `badge status-${data.status}`;
            cancelBtn.hidden = true;
          }
          break;
        case "chunk.detected":
          if (typeof data.lag_ms === "number") {
            lastLag = data.lag_ms;
            setText(lag.value, fmtMs(lastLag));
            lag.value.dataset.value = String(lastLag);
          }
          // A frame shown as not analysed may be now.
          refreshFrame();
          break;
        default:
          break;
      }
    }
    refresh();
  };

  ctx.live({ capture: id }, onEvent);
  void settle(
    ctx,
    load().then(() => loadFrame(0)),
  ).then(() => ctx.ready());
}
