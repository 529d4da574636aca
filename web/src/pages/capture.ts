// #/captures/<id> — a capture's live progress, a frame scrubber with the
// detection overlay, and its gaps.

import { errorMessage, settle, type PageContext } from "../app";
import { FrameOverlay } from "../components/overlay";
import { api, enc, imageURL, isAbort, isStatus } from "../lib/api";
import { card, emptyRow, h, link, replace, setText, table } from "../lib/dom";
import { fmtDate, fmtMs, fmtTime } from "../lib/format";
import { FRAMES_PAGE, fetchAfterCovers, mergeFrames, scrubTarget } from "../lib/frames";
import { streamHref } from "../lib/route";
import { debounce } from "../lib/timing";
import type { AnalysedFrame, CaptureStatus, FrameSummary, PipelineEvent } from "../types";

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
  const frameTime = h("span", { class: "mono small", "data-testid": "frame-time" });
  const framePos = h("span", { class: "muted small", "data-testid": "frame-position" });
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
        h(
          "div",
          { class: "controls scrub" },
          h("label", null, "Frame ", frameLabel, " ", frameTime),
          scrubber,
          framePos,
        ),
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
    setText(phase, s.progress?.phase && RUNNING.has(s.status) ? `phase: ${s.progress.phase}` : "");
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
  };

  // The scrubber steps through the analysed frames (GET .../frames): its
  // positions are the list's entries. While the capture runs it follows the
  // newest frame until the user moves it; afterwards it stays put.
  let frameList: FrameSummary[] = [];
  let listLoaded = false;
  // The next fetch must read the whole list: a chunk detected out of order
  // adds frames before the last one known, which a fetch of what comes
  // after it would miss.
  let needFull = false;
  let finishedSeen = false;
  let finalSynced = false;
  let moved = false;
  let selected: number | null = null;
  // Whether the capture row exists: before, the list is a 404.
  let recorded = false;

  const running = (): boolean => !finishedSeen && (status === null || RUNNING.has(status.status));

  const emptyNote = (): void => {
    if (frameList.length > 0) return;
    const captured = status ? Math.max(status.frames_captured, status.progress?.frames_captured ?? 0) : 0;
    const live = running();
    if (captured === 0) overlay.clear(live ? "No frames captured yet." : "This capture stored no frames.");
    else if (live) overlay.clear("Frames show here as soon as their chunk is analysed.");
    else overlay.clear("No frame of this capture was analysed.");
  };

  const label = (f: FrameSummary | undefined, position: number): void => {
    setText(frameLabel, f ? String(f.frame_index) : "—");
    setText(frameTime, f ? fmtTime(f.ts) : "");
    setText(framePos, f ? `${position + 1} of ${frameList.length} analysed` : "");
  };

  let frameSeq = 0;
  const loadFrame = async (index: number): Promise<void> => {
    const seq = ++frameSeq;
    // Listed frames are analysed: their detections exist.
    const detP: Promise<AnalysedFrame | null> = api
      .get<AnalysedFrame>(`${path}/frames/${index}/detections`, { min_score: 0 }, signal)
      .catch((err: unknown) => {
        if (isStatus(err, 404)) return null;
        throw err;
      });
    const imgP: Promise<{ url: string | null; why?: string }> = imageURL(`${path}/frames/${index}`, signal).then(
      (url) => ({ url }),
      (err: unknown) => {
        if (isAbort(err)) throw err;
        if (isStatus(err, 404)) return { url: null, why: "This frame's image is not stored." };
        if (isStatus(err, 410)) return { url: null, why: "The image expired under the retention policy; its detections remain." };
        return { url: null, why: `No image: ${errorMessage(err)}` };
      },
    );
    const [frame, img] = await Promise.all([detP, imgP]);
    if (seq !== frameSeq) {
      if (img.url) URL.revokeObjectURL(img.url);
      return;
    }
    const notes: string[] = [];
    if (img.why) notes.push(img.why);
    if (!frame) notes.push("Its detections are gone: no boxes to draw.");
    overlay.show({ image: img.url, frame, note: notes.join(" ") || undefined, index });
  };

  /** place sets the scrubber over the list and shows the frame it should. */
  const place = (): void => {
    const n = frameList.length;
    scrubber.max = String(Math.max(0, n - 1));
    scrubber.disabled = n === 0;
    const target = scrubTarget(frameList, { selected, moved, running: running() });
    const f = frameList[target];
    if (!f) {
      scrubber.value = "0";
      label(undefined, -1);
      emptyNote();
      return;
    }
    scrubber.value = String(target);
    label(f, target);
    if (f.frame_index !== selected) {
      selected = f.frame_index;
      run(loadFrame(f.frame_index));
    }
  };

  const fetchFrames = async (): Promise<void> => {
    const full = needFull || frameList.length === 0;
    needFull = false;
    let after = full ? -1 : (frameList[frameList.length - 1]?.frame_index ?? -1);
    const got: FrameSummary[] = [];
    try {
      for (;;) {
        const page = await api.get<FrameSummary[]>(
          `${path}/frames`,
          { after: after >= 0 ? after : undefined, limit: FRAMES_PAGE },
          signal,
        );
        got.push(...page);
        const last = page[page.length - 1];
        if (page.length < FRAMES_PAGE || !last) break;
        after = last.frame_index;
      }
    } catch (err) {
      if (full) needFull = true;
      throw err;
    }
    frameList = full ? got : mergeFrames(frameList, got);
    listLoaded = true;
    // Fewer frames than the status counted: some came in out of order.
    if (!full && status && status.frames_analysed > frameList.length) needFull = true;
    place();
  };

  // One fetch of the list at a time; a call during one fetches again after it.
  let syncing: Promise<void> | null = null;
  let syncAgain = false;
  const syncFrames = (): Promise<void> => {
    if (!recorded) return Promise.resolve();
    if (syncing) {
      syncAgain = true;
      return syncing;
    }
    const loop = async (): Promise<void> => {
      try {
        do {
          syncAgain = false;
          await fetchFrames();
        } while (syncAgain && !signal.aborted);
      } finally {
        syncing = null;
      }
    };
    syncing = loop();
    return syncing;
  };

  /** load reads the status, and the list when it may have changed (or listToo). */
  let loads = 0;
  const load = async (listToo = false): Promise<void> => {
    // Loads may overlap (events, the periodic look): only the newest
    // renders, so an answer from before the capture ended never wins.
    const seq = ++loads;
    const s = await api.get<CaptureStatus>(path, undefined, signal);
    if (seq !== loads) return;
    render(s);
    if (s.recorded === true || (s.recorded === undefined && s.status !== "pending")) recorded = true;
    if (!RUNNING.has(s.status)) finishedSeen = true;
    let sync = listToo || !listLoaded;
    if (finishedSeen && !finalSynced) {
      // The end: read the whole list once more.
      finalSynced = true;
      needFull = true;
      sync = true;
    }
    if (Math.max(s.frames_analysed, s.progress?.frames_analysed ?? 0) > frameList.length) sync = true;
    if (sync && recorded) await syncFrames();
    else emptyNote();
  };

  const scrub = debounce(
    () => {
      if (selected !== null) run(loadFrame(selected));
    },
    120,
    400,
  );
  scrubber.addEventListener("input", () => {
    const position = Number(scrubber.value);
    const f = frameList[position];
    if (!f) return;
    moved = true;
    selected = f.frame_index;
    label(f, position);
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
  const syncSoon = debounce(() => run(syncFrames()), 250, 1000);
  ctx.onLeave(() => {
    refresh.cancel();
    scrub.cancel();
    syncSoon.cancel();
  });

  // Events missed before the stream connected (a capture that ends at once)
  // are caught up by looking again while it runs and nothing comes.
  let lastEventAt = Date.now();
  const poll = setInterval(() => {
    if (status && running() && Date.now() - lastEventAt > 4000) run(load(true));
  }, 5000);
  ctx.onLeave(() => clearInterval(poll));

  const onEvent = (ev: PipelineEvent): void => {
    lastEventAt = Date.now();
    events++;
    root.dataset.events = String(events);
    const data = ev.data ?? {};
    if (ev.capture_id === id) {
      // Events come from the capture's rows: it is recorded.
      recorded = true;
      switch (ev.type) {
        case "capture.progress":
          if (typeof data.frames_captured === "number" && data.frames_captured > 0) {
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
          // The end: read the whole list once more.
          finishedSeen = true;
          finalSynced = true;
          needFull = true;
          syncSoon();
          break;
        case "chunk.detected":
          if (typeof data.lag_ms === "number") {
            lastLag = data.lag_ms;
            setText(lag.value, fmtMs(lastLag));
            lag.value.dataset.value = String(lastLag);
          }
          // A chunk before the newest frame known, not in the list: read
          // the whole list.
          if (typeof data.first_frame === "number" && !fetchAfterCovers(frameList, data.first_frame)) needFull = true;
          syncSoon();
          break;
        default:
          break;
      }
    }
    refresh();
  };

  ctx.live({ capture: id }, onEvent);
  // A capture that has ended shows its first frame; a running one its newest.
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
  };
  void settle(ctx, first()).then(() => ctx.ready());
}
