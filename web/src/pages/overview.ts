// #/ — every stream with its live state, the rankings, the captures running
// and the captures that failed.

import { settle, type PageContext } from "../app";
import { badge } from "../components/ui";
import { api } from "../lib/api";
import { classColor } from "../lib/boxes";
import { card, emptyRow, h, link, replace, setText, table } from "../lib/dom";
import { fmtDate, fmtInt, fmtNum } from "../lib/format";
import { knownMaxFrames } from "../lib/maxframes";
import { captureHref, href, streamHref } from "../lib/route";
import { debounce } from "../lib/timing";
import type { Capture, CaptureSummary, ObjectOverall, PipelineEvent, Stream, StreamOverall } from "../types";

/** progressBar is the live bar of a running capture: determinate once its max_frames is known. */
export function progressBar(captureId: string, frames: number, max?: number | null): HTMLElement {
  const bar = h("progress", { "data-capture": captureId, "data-frames": frames, "aria-label": "Frames captured" });
  const label = h("span", { class: "mono small", "data-role": "frames" });
  const wrap = h("span", { class: "progress-wrap" }, bar, label);
  updateProgress(wrap, frames, max);
  return wrap;
}

function updateProgress(wrap: Element, frames: number, max?: number | null): void {
  const bar = wrap.querySelector("progress");
  if (!bar) return;
  bar.dataset.frames = String(frames);
  const m = max ?? Number(bar.dataset.max || 0);
  if (m > 0) {
    bar.dataset.max = String(m);
    bar.max = m;
    bar.value = Math.min(frames, m);
    setText(wrap.querySelector("[data-role=frames]"), `${frames} / ${m}`);
  } else {
    setText(wrap.querySelector("[data-role=frames]"), `${frames} frames`);
  }
}

export function overviewPage(ctx: PageContext): void {
  const { signal } = ctx;
  let streams: Stream[] = [];
  let overall = new Map<string, StreamOverall>();

  const streamsT = table("streams", ["Stream", "State", "Last capture", "Frames analysed", "Top object"]);
  const rankT = table("stream-ranking", ["#", "Stream", "Objects / frame", "Frames", "Top object"]);
  const objectsT = table("object-ranking", ["#", "Object", "Per frame", "Max", "Streams"]);
  const runningT = table("running-captures", ["Capture", "Stream", "Started", "Frames"]);
  const failedT = table("failed-captures", ["Capture", "Stream", "Finished", "Error"]);

  replace(
    ctx.root,
    h("div", { class: "page-head" }, h("h1", null, "Overview")),
    card("Streams", "streams", h("div", { class: "scroll" }, streamsT.table)),
    h(
      "div",
      { class: "grid two" },
      card("Busiest streams", "stream-ranking", h("p", { class: "muted small" }, "Objects per analysed frame"), rankT.table),
      card("Objects across all streams", "object-ranking", h("p", { class: "muted small" }, "Per analysed frame, all streams"), objectsT.table),
    ),
    h(
      "div",
      { class: "grid two" },
      card("Captures in progress", "running-captures", runningT.table),
      card("Failed captures", "failed-captures", h("div", { class: "scroll" }, failedT.table)),
    ),
  );

  const stateCell = (s: Stream): HTMLElement => {
    const lc = s.last_capture;
    if (lc && lc.status === "running") {
      return h(
        "td",
        { "data-field": "state", "data-state": "capturing" },
        h("span", { class: "capturing" }, "capturing"),
        " ",
        progressBar(lc.id, lc.frames_captured, lc.max_frames ?? knownMaxFrames(lc.id)),
      );
    }
    return h("td", { "data-field": "state", "data-state": "idle" }, h("span", { class: "muted" }, "idle"));
  };

  const lastCell = (lc: CaptureSummary | null | undefined): HTMLElement =>
    lc
      ? h(
          "td",
          { "data-field": "last_capture" },
          badge(lc.status),
          " ",
          link(captureHref(lc.id), fmtDate(lc.finished_at ?? lc.started_at), { title: lc.id }),
        )
      : h("td", { "data-field": "last_capture", class: "muted" }, "never");

  const streamRow = (s: Stream): HTMLTableRowElement => {
    const o = overall.get(s.id);
    return h(
      "tr",
      { "data-stream": s.id },
      h("td", null, link(streamHref(s.id), s.name || s.id), s.name && s.name !== s.id ? h("div", { class: "muted small mono" }, s.id) : null),
      stateCell(s),
      lastCell(s.last_capture),
      h("td", { "data-field": "frames_analysed", class: "num" }, o ? fmtInt(o.frames) : "—"),
      h(
        "td",
        { "data-field": "top_object" },
        o?.top_object
          ? [
              h("span", { class: "swatch", style: `background:${classColor(o.top_object)}` }),
              o.top_object,
              h("span", { class: "muted small" }, ` ${fmtNum(o.top_object_avg_per_frame, 2)}/frame`),
            ]
          : "—",
      ),
    );
  };

  const renderStreams = (): void => {
    replace(streamsT.body, streams.length ? streams.map(streamRow) : emptyRow(5, "No streams registered yet."));
  };

  const rerenderStream = (id: string): void => {
    const s = streams.find((x) => x.id === id);
    const old = streamsT.body.querySelector(`tr[data-stream="${CSS.escape(id)}"]`);
    if (s && old) old.replaceWith(streamRow(s));
  };

  const loadStreams = async (): Promise<void> => {
    streams = await api.get<Stream[]>("/streams", undefined, signal);
    renderStreams();
  };

  const loadRankings = async (): Promise<void> => {
    const [ranks, objects] = await Promise.all([
      api.get<StreamOverall[]>("/rankings/streams/overall", { limit: 20 }, signal),
      api.get<ObjectOverall[]>("/rankings/objects", { limit: 20 }, signal),
    ]);
    overall = new Map(ranks.map((r) => [r.stream_id, r]));
    replace(
      rankT.body,
      ranks.length
        ? ranks.map((r) =>
            h(
              "tr",
              { "data-stream": r.stream_id },
              h("td", { class: "num" }, r.rank),
              h("td", null, link(streamHref(r.stream_id), r.stream_name || r.stream_id)),
              h("td", { class: "num", "data-field": "avg_per_frame", "data-value": r.avg_per_frame }, fmtNum(r.avg_per_frame, 3)),
              h("td", { class: "num" }, fmtInt(r.frames)),
              h("td", null, r.top_object ?? "—"),
            ),
          )
        : emptyRow(5, "No rankings yet: they appear after a capture's rollup."),
    );
    replace(
      objectsT.body,
      objects.length
        ? objects.map((o) =>
            h(
              "tr",
              { "data-object": o.object },
              h("td", { class: "num" }, o.rank),
              h(
                "td",
                null,
                h("span", { class: "swatch", style: `background:${classColor(o.object)}` }),
                link(href({ page: "rankings", object: o.object }), o.object),
              ),
              h("td", { class: "num", "data-field": "avg_per_frame", "data-value": o.avg_per_frame }, fmtNum(o.avg_per_frame, 3)),
              h("td", { class: "num" }, o.max_per_frame),
              h("td", { class: "num" }, o.streams),
            ),
          )
        : emptyRow(5, "No objects counted yet."),
    );
    if (streams.length) renderStreams();
  };

  /** loadCaptures fills a table with the captures of one status; the last two cells differ. */
  const loadCaptures = async (
    body: HTMLElement,
    status: string,
    limit: number,
    empty: string,
    tail: (c: Capture) => HTMLElement[],
  ): Promise<void> => {
    const rows = await api.get<Capture[]>("/captures", { status, limit }, signal);
    replace(
      body,
      rows.length
        ? rows.map((c) =>
            h(
              "tr",
              { "data-capture": c.id },
              h("td", null, link(captureHref(c.id), c.id, { class: "mono small" })),
              h("td", null, link(streamHref(c.stream_id), c.stream_id)),
              ...tail(c),
            ),
          )
        : emptyRow(4, empty),
    );
  };
  const loadRunning = (): Promise<void> =>
    loadCaptures(runningT.body, "running", 50, "No capture is running.", (c) => [
      h("td", null, fmtDate(c.started_at)),
      h("td", { class: "num", "data-field": "frames_captured" }, String(c.frames_captured)),
    ]);
  const loadFailed = (): Promise<void> =>
    loadCaptures(failedT.body, "failed", 20, "No failed captures.", (c) => [
      h("td", null, fmtDate(c.finished_at ?? c.started_at)),
      h("td", { class: "error-text", "data-field": "error" }, c.error ?? ""),
    ]);

  const run = (p: Promise<void>): void => {
    p.catch((err: unknown) => ctx.fail(err));
  };
  const refreshStreams = debounce(() => run(loadStreams()), 400);
  const refreshRankings = debounce(() => run(loadRankings()), 400);
  const refreshRunning = debounce(() => run(loadRunning()), 400);
  const refreshFailed = debounce(() => run(loadFailed()), 400);
  ctx.onLeave(() => {
    refreshStreams.cancel();
    refreshRankings.cancel();
    refreshRunning.cancel();
    refreshFailed.cancel();
  });

  const onEvent = (ev: PipelineEvent): void => {
    const data = ev.data ?? {};
    const s = streams.find((x) => x.id === ev.stream_id);
    switch (ev.type) {
      case "capture.started": {
        if (s) {
          s.last_capture = {
            id: ev.capture_id,
            status: "running",
            started_at: typeof data.started_at === "string" ? data.started_at : ev.at,
            finished_at: null,
            frames_captured: 0,
          };
          rerenderStream(s.id);
        } else {
          refreshStreams();
        }
        refreshRunning();
        break;
      }
      case "capture.progress": {
        const frames = typeof data.frames_captured === "number" ? data.frames_captured : null;
        if (frames === null) break;
        if (s?.last_capture && s.last_capture.id === ev.capture_id) {
          s.last_capture.frames_captured = frames;
          if (s.last_capture.status !== "running") {
            s.last_capture.status = "running";
            rerenderStream(s.id);
          }
        } else if (s) {
          refreshStreams();
        }
        for (const bar of Array.from(ctx.root.querySelectorAll<HTMLProgressElement>(`progress[data-capture="${CSS.escape(ev.capture_id)}"]`))) {
          if (bar.parentElement) updateProgress(bar.parentElement, frames);
        }
        const cell = runningT.body.querySelector(`tr[data-capture="${CSS.escape(ev.capture_id)}"] td[data-field="frames_captured"]`);
        if (cell) setText(cell, String(frames));
        else refreshRunning();
        break;
      }
      case "capture.finished": {
        if (s?.last_capture && s.last_capture.id === ev.capture_id) {
          const st = data.status;
          s.last_capture.status =
            st === "completed" || st === "failed" || st === "canceled" ? st : "completed";
          if (typeof data.frames_captured === "number") s.last_capture.frames_captured = data.frames_captured;
          s.last_capture.finished_at = typeof data.finished_at === "string" ? data.finished_at : ev.at;
          rerenderStream(s.id);
        } else {
          refreshStreams();
        }
        runningT.body.querySelector(`tr[data-capture="${CSS.escape(ev.capture_id)}"]`)?.remove();
        refreshRunning();
        if (data.status === "failed") refreshFailed();
        break;
      }
      case "rollup.finished":
        refreshRankings();
        break;
      default:
        break;
    }
  };

  ctx.live({}, onEvent);
  void settle(ctx, loadStreams(), loadRankings(), loadRunning(), loadFailed()).then(() => ctx.ready());
}
