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
    { class: "page-body", "data-testid": "capture-page", "data-events": 0, "data-capture": id },
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
    scrubber.max = String(Math.max(0, nFrames - 1));
    scrubber.disabled = nFrames === 0;
  };

  // The first frame is shown by itself once there is one to show.
  let autoShown = false;
  const load = async (): Promise<void> => {
    const s = await api.get<CaptureStatus>(path, undefined, signal);
    render(s);
    if (!autoShown && !RUNNING.has(s.status) && s.frames_captured > 0) {
      autoShown = true;
      scrubber.value = "0";
      await loadFrame(0);
    }
  };

  // Which frames are known to be analysed. A request for a frame that is
  // not is a 404, which the browser logs as an error, so the page asks for
  // detections only where they should be.
  const detected: { first: number; frames: number }[] = [];
  const analysedKnown = (index: number): boolean => {
    if (!status) return false;
    const analysedSoFar = Math.max(status.frames_analysed, status.progress?.frames_analysed ?? 0);
    if (analysedSoFar === 0 && detected.length === 0) return false;
    if (!RUNNING.has(status.status)) return true;
    // Sampled captures skip source indexes: a chunk's range is not known.
    if (status.every_ms) return true;
    return detected.some((c) => index >= c.first && index < c.first + c.frames);
  };

  let frameSeq = 0;
  let shownFrame = -1;
  let shownAnalysed = false;
  const loadFrame = async (index: number): Promise<void> => {
    const seq = ++frameSeq;
    setText(frameLabel, String(index));
    if (!status || Math.max(status.frames_captured, status.progress?.frames_captured ?? 0) === 0) {
      overlay.clear("No frames captured yet.");
      return;
    }
    const analysed = analysedKnown(index);
    const detP: Promise<AnalysedFrame | null> = analysed
      ? api.get<AnalysedFrame>(`${path}/frames/${index}/detections`, { min_score: 0 }, signal).catch((err: unknown) => {
          if (isStatus(err, 404)) return null;
          throw err;
        })
      : Promise.resolve(null);
    const imgP: Promise<{ url: string | null; why?: string }> = imageURL(`${path}/frames/${index}`, signal).then(
      (url) => ({ url }),
      (err: unknown) => {
        if (isAbort(err)) throw err;
        if (isStatus(err, 404)) return { url: null, why: "This frame was not stored (the capture samples frames, or has not stored it yet)." };
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
    shownAnalysed = frame !== null;
    const notes: string[] = [];
    if (img.why) notes.push(img.why);
    if (!frame) notes.push("Not analysed yet: no boxes to draw.");
    overlay.show({ image: img.url, frame, note: notes.join(" ") || undefined, index });
  };

  /** showFrame moves the scrubber to a frame and loads it. */
  const showFrame = (index: number): void => {
    scrubber.value = String(index);
    run(loadFrame(index));
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
  // A chunk was detected: show its first frame if none is shown yet, or
  // reload the frame shown if it now has its detections.
  let pendingChunk: { first: number; frames: number } | null = null;
  const refreshFrame = debounce(() => {
    const c = pendingChunk;
    pendingChunk = null;
    if (!autoShown && c) {
      autoShown = true;
      showFrame(c.first);
    }
    else if (shownFrame >= 0 && !shownAnalysed && analysedKnown(shownFrame)) run(loadFrame(shownFrame));
  }, 400, 2000);
  ctx.onLeave(() => {
    refresh.cancel();
    scrub.cancel();
    refreshFrame.cancel();
  });

  // Events missed before the stream connected (a capture that ends at once)
  // are caught up by looking again while it runs and nothing comes.
  let lastEventAt = Date.now();
  const poll = setInterval(() => {
    if (status && RUNNING.has(status.status) && Date.now() - lastEventAt > 4000) run(load());
  }, 5000);
  ctx.onLeave(() => clearInterval(poll));

  const onEvent = (ev: PipelineEvent): void => {
    lastEventAt = Date.now();
    events++;
    root.dataset.events = String(events);
    const data = ev.data ?? {};
    if (ev.capture_id === id) {
      switch (ev.type) {
        case "capture.progress":
          if (typeof data.frames_captured === "number" && data.frames_captured > 0) {
            setText(frames.value, String(data.frames_captured));
            frames.value.dataset.value = String(data.frames_captured);
            scrubber.max = String(data.frames_captured - 1);
            scrubber.disabled = false;
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
          if (typeof data.first_frame === "number" && typeof data.frames === "number") {
            const c = { first: data.first_frame, frames: data.frames };
            detected.push(c);
            pendingChunk ??= c;
            refreshFrame();
          }
          break;
        default:
          break;
      }
    }
    refresh();
  };

  ctx.live({ capture: id }, onEvent);
  // A capture that has ended shows its first frame; a running one shows the
  // first frame of the next chunk detected.
  const first = async (): Promise<void> => {
    try {
      await load();
    } catch (err) {
      if (isStatus(err, 404)) {
        root.dataset.notFound = "true";
        replace(
          root,
          h(
            "div",
            { class: "card", "data-testid": "not-found" },
            h("h1", null, "No such capture"),
            h("p", { class: "mono" }, id),
            h("p", null, "Neither a capture row nor a workflow has this id. ", link("#/", "Back to the overview")),
          ),
        );
      }
      throw err;
    }
    if (autoShown || !status) return;
    if (status.frames_captured === 0) {
      overlay.clear(RUNNING.has(status.status) ? "No frames captured yet." : "This capture stored no frames.");
    } else {
      overlay.clear("Frames show here as their chunks are detected; move the scrubber to look at one.");
    }
  };
  void settle(ctx, first()).then(() => ctx.ready());
}
