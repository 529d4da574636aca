// #/streams/<id> — a stream's chart, object ranking, latest analysed frame,
// captures, schedules, detection settings and a form to start a capture.

import { settle, errorMessage, type PageContext } from "../app";
import { SeriesChart, type ChartRange } from "../components/chart";
import { FrameOverlay } from "../components/overlay";
import { badge, field, formValues, setFormError, settingsFields } from "../components/ui";
import { api, enc, imageURL, isAbort, isStatus, ApiError } from "../lib/api";
import { classColor, lineTotals } from "../lib/boxes";
import { card, emptyRow, h, link, replace, table } from "../lib/dom";
import { fmtDate, fmtNum, fmtSeconds } from "../lib/format";
import { rememberMaxFrames } from "../lib/maxframes";
import { captureHref, href } from "../lib/route";
import {
  BUCKETS,
  DEFAULT_RANGE,
  METRICS,
  RANGES,
  defaultCovers,
  rangeQuery,
  rangeSeconds,
  seriesEnd,
  type Bucket,
  type Metric,
} from "../lib/series";
import { SCHEDULE_SETTINGS_PREFIX, scheduleFromValues, settingsFromValues } from "../lib/settings";
import { debounce } from "../lib/timing";
import type {
  AnalysedFrame,
  Capture,
  CaptureStarted,
  CrossingPoint,
  DetectConfig,
  Model,
  ObjectRank,
  PipelineEvent,
  ScheduleSummary,
  Series,
  Stream,
} from "../types";

const BUCKET_SECONDS: Record<Bucket, number> = { minute: 60, hour: 3600, day: 86400 };

function detectSettings(d: DetectConfig | null | undefined): HTMLElement {
  const f = d?.filter;
  const classes = f?.classes?.length ? f.classes.join(", ") : "all the model's classes";
  const per = Object.entries(f?.class_min_score ?? {});
  return h(
    "dl",
    { class: "kv", "data-testid": "detect-settings" },
    h("dt", null, "Model"),
    h("dd", { "data-field": "model" }, d?.model || "the workers' default"),
    h("dt", null, "Classes"),
    h("dd", { "data-field": "classes" }, classes),
    h("dt", null, "Min score"),
    h("dd", { "data-field": "min_score" }, f?.min_score ? String(f.min_score) : "the model's threshold"),
    per.length ? h("dt", null, "Per class") : null,
    per.length ? h("dd", { "data-field": "class_min_score" }, per.map(([c, s]) => `${c} ≥ ${s}`).join(", ")) : null,
  );
}

function select(testid: string, options: { value: string; label: string }[], value: string, label: string): HTMLSelectElement {
  const s = h(
    "select",
    { "data-testid": testid, "aria-label": label },
    options.map((o) => h("option", { value: o.value }, o.label)),
  );
  s.value = value;
  return s;
}

export interface StreamView {
  /** The chart's range (RANGES) and bucket (BUCKETS), e.g. from #/streams/x?range=1y. */
  range?: string | null;
  bucket?: string | null;
}

export function streamPage(ctx: PageContext, id: string, view: StreamView = {}): void {
  const { signal } = ctx;
  const path = `/streams/${enc(id)}`;
  let stream: Stream | null = null;
  // Whether the stream may have an analysed frame: asking when it has none is
  // a 404, which a browser logs as an error, so the page asks only then.
  let hasFrames = false;
  let series: Series[] = [];
  // The range the series' query asked for: the chart's x axis spans it.
  let seriesRange: ChartRange | null = null;

  const run = (p: Promise<unknown>): void => {
    p.catch((err: unknown) => ctx.fail(err));
  };

  // Header and detection settings.
  const title = h("h1", null, id);
  const sub = h("div", { class: "muted small mono" });
  const settingsHost = h("div", null, detectSettings(null));

  // Chart.
  const chart = new SeriesChart();
  ctx.onLeave(() => chart.destroy());
  const bucketSel = select(
    "bucket",
    BUCKETS.map((b) => ({ value: b, label: `per ${b}` })),
    BUCKETS.includes(view.bucket as Bucket) ? (view.bucket as Bucket) : "minute",
    "Bucket",
  );
  const rangeSel = select(
    "range",
    RANGES.map((r) => ({ value: r.value, label: `last ${r.label}` })),
    rangeSeconds(view.range ?? "") !== null ? (view.range as string) : DEFAULT_RANGE,
    "Range",
  );
  const metricSel = select("metric", METRICS, "avg_per_frame", "Value");
  const chartNote = h("span", { class: "muted small", "data-testid": "chart-note" });

  // Object ranking.
  const objectsT = table("stream-objects", ["#", "Object", "Per frame", "Max", "Objects", "Frames", "Counted once"]);

  // Latest frame.
  const overlay = new FrameOverlay();
  ctx.onLeave(() => overlay.destroy());

  // Captures.
  const capturesT = table("captures", ["Capture", "Status", "Started", "Finished", "Frames", "Gaps", "Error"]);

  // Schedules.
  const schedulesT = table("schedules", ["Schedule", "When", "Next", "Last", "State", ""]);
  const scheduleStatus = h("div", { class: "muted small", "data-testid": "schedule-status", "aria-live": "polite" });

  // Start capture form.
  const startHost = h("div", { class: "form-host" }, h("p", { class: "muted" }, "Loading models…"));
  const scheduleHost = h("div", { class: "form-host" });

  replace(
    ctx.root,
    h("div", { class: "page-head" }, h("div", null, title, sub)),
    card(
      "Objects over time",
      "series",
      h("div", { class: "controls" }, bucketSel, rangeSel, metricSel, chartNote),
      chart.el,
    ),
    h(
      "div",
      { class: "grid frame-row" },
      card("Latest analysed frame", "latest-frame", overlay.el),
      h(
        "div",
        { class: "stack" },
        card("Objects in this stream", "stream-objects", objectsT.table),
        card("Detection settings", "detect-settings", settingsHost),
      ),
    ),
    card("Captures", "captures", h("div", { class: "scroll" }, capturesT.table)),
    h(
      "div",
      { class: "grid two" },
      card("Start a capture", "start-capture", startHost),
      card("Schedules", "schedules", h("div", { class: "scroll" }, schedulesT.table), scheduleStatus, scheduleHost),
    ),
  );

  // --- loaders ---

  const loadStream = async (): Promise<void> => {
    try {
      stream = await api.get<Stream>(path, undefined, signal);
    } catch (err) {
      if (isStatus(err, 404)) {
        replace(
          ctx.root,
          h(
            "div",
            { class: "card", "data-testid": "not-found" },
            h("h1", null, `No stream ${id}`),
            h("p", null, "It is not registered, or was deleted. ", link("#/", "Back to the overview")),
          ),
        );
      }
      throw err;
    }
    title.textContent = stream.name || stream.id;
    sub.textContent = `${stream.id} · ${stream.source}`;
    replace(settingsHost, detectSettings(stream.detect));
    overlay.setCounting(stream.tracking);
  };

  let seriesSeq = 0;
  const loadSeries = async (): Promise<void> => {
    const seq = ++seriesSeq;
    const bucket = bucketSel.value as Bucket;
    const range = rangeSel.value;
    // At most one point per pixel of the chart: the server merges buckets
    // beyond that.
    const points = Math.max(100, Math.min(5000, Math.round(chart.el.clientWidth || 1000)));
    const query = { bucket, top: 5, points };
    const secs = rangeSeconds(range) ?? 86400;
    let got: Series[];
    let end: number | null;
    if (defaultCovers(range, bucket)) {
      // The API's default range ends with the end of the newest bucket.
      got = await api.get<Series[]>(`${path}/series`, query, signal);
      end = seriesEnd(got);
    } else {
      // Ranges end with the stream's newest data, which only the API knows:
      // a small question (one object's last day by minute) says where that is.
      const probe = await api.get<Series[]>(`${path}/series`, { bucket: "minute", top: 1 }, signal);
      end = seriesEnd(probe);
      got = end === null ? [] : await api.get<Series[]>(`${path}/series`, { ...query, ...rangeQuery(end, secs) }, signal);
    }
    if (seq !== seriesSeq) return;
    series = got;
    seriesRange = end === null ? null : { to: end, seconds: secs };
    drawChart();
  };

  const drawChart = (): void => {
    const bucket = bucketSel.value as Bucket;
    chart.set(series, metricSel.value as Metric, BUCKET_SECONDS[bucket], seriesRange);
    const used = Number(chart.el.dataset.bucketSeconds);
    chartNote.textContent =
      used && used !== BUCKET_SECONDS[bucket] ? `Buckets widened to ${fmtSeconds(used)} to fit the range.` : "";
  };

  const loadObjects = async (): Promise<void> => {
    const [rows, crossings] = await Promise.all([
      api.get<ObjectRank[]>(`${path}/objects`, undefined, signal),
      api.get<CrossingPoint[]>(`${path}/crossings`, undefined, signal),
    ]);
    if (stream) overlay.setCounting(stream.tracking, lineTotals(crossings));
    replace(
      objectsT.body,
      rows.length
        ? rows.map((o) =>
            h(
              "tr",
              { "data-object": o.object },
              h("td", { class: "num" }, o.rank),
              h("td", null, h("span", { class: "swatch", style: `background:${classColor(o.object)}` }), o.object),
              h("td", { class: "num", "data-field": "avg_per_frame", "data-value": String(o.avg_per_frame) }, fmtNum(o.avg_per_frame, 3)),
              h("td", { class: "num", "data-field": "max_per_frame", "data-value": String(o.max_per_frame) }, o.max_per_frame),
              h("td", { class: "num", "data-field": "objects", "data-value": String(o.objects) }, o.objects),
              h("td", { class: "num", "data-field": "frames", "data-value": String(o.frames) }, o.frames),
              h(
                "td",
                { class: "num", "data-field": "unique_objects", "data-value": String(o.unique_objects ?? 0) },
                o.unique_objects ?? 0,
              ),
            ),
          )
        : emptyRow(7, "No objects counted yet."),
    );
  };

  let frameSeq = 0;
  const loadFrame = async (): Promise<void> => {
    const seq = ++frameSeq;
    if (!hasFrames) {
      overlay.clear("No analysed frame yet.");
      return;
    }
    let frame: AnalysedFrame;
    try {
      frame = await api.get<AnalysedFrame>(`${path}/frames/latest`, { min_score: 0 }, signal);
    } catch (err) {
      if (isStatus(err, 404)) {
        if (seq === frameSeq) overlay.clear("No analysed frame yet.");
        return;
      }
      throw err;
    }
    let image: string | null = null;
    let note: string | undefined;
    try {
      image = await imageURL(frame.image_url, signal);
    } catch (err) {
      if (isAbort(err)) throw err;
      note = isStatus(err, 410) ? "The image expired under the retention policy; its detections remain." : `No image: ${errorMessage(err)}`;
    }
    if (seq !== frameSeq) {
      if (image) URL.revokeObjectURL(image);
      return;
    }
    overlay.show({ image, frame, note });
  };

  const captureRow = (c: Capture): HTMLTableRowElement =>
    h(
      "tr",
      { "data-capture": c.id },
      h("td", null, link(captureHref(c.id), c.id, { class: "mono small" })),
      h("td", { "data-field": "status", "data-value": c.status }, badge(c.status)),
      h("td", null, fmtDate(c.started_at)),
      h("td", null, fmtDate(c.finished_at)),
      h("td", { class: "num", "data-field": "frames_captured" }, String(c.frames_captured)),
      h("td", { class: "num", "data-field": "gaps" }, c.gaps === undefined ? "—" : String(c.gaps)),
      h("td", { class: "error-text", "data-field": "error" }, c.error ?? ""),
    );

  const loadCaptures = async (): Promise<void> => {
    const rows = await api.get<Capture[]>(`${path}/captures`, { limit: 20 }, signal);
    hasFrames ||= rows.some((c) => c.frames_captured > 0 && c.status !== "running");
    replace(capturesT.body, rows.length ? rows.map(captureRow) : emptyRow(7, "No captures yet."));
  };

  const loadSchedules = async (): Promise<void> => {
    const all = await api.get<ScheduleSummary[]>("/schedules", undefined, signal);
    const mine = all.filter((s) => s.stream_id === id);
    replace(schedulesT.body, mine.length ? mine.map(scheduleRow) : emptyRow(6, "No schedules."));
  };

  const scheduleAction = async (s: ScheduleSummary, action: string): Promise<void> => {
    const sp = `/schedules/${enc(s.id)}`;
    if (action === "delete") await api.del(sp, signal);
    else await api.post(`${sp}/${action}`, undefined, signal);
    scheduleStatus.textContent =
      action === "trigger" ? `Triggered ${s.id}: a capture starts now.` : `${s.id}: ${action === "delete" ? "deleted" : action === "pause" ? "paused" : "resumed"}.`;
    await loadSchedules();
    // The list is eventually consistent: look again shortly.
    setTimeout(() => {
      if (!signal.aborted) run(loadSchedules());
    }, 1500);
  };

  const actionButton = (s: ScheduleSummary, action: string, label: string): HTMLButtonElement => {
    const b = h("button", { type: "button", class: action === "delete" ? "small danger" : "small", "data-action": action }, label);
    b.addEventListener("click", () => {
      b.disabled = true;
      scheduleAction(s, action)
        .catch((err: unknown) => {
          if (!isAbort(err)) scheduleStatus.textContent = "";
          ctx.fail(err);
        })
        .finally(() => {
          b.disabled = false;
        });
    });
    return b;
  };

  const scheduleRow = (s: ScheduleSummary): HTMLTableRowElement =>
    h(
      "tr",
      { "data-schedule": s.id, "data-paused": s.paused ? "true" : "false" },
      h("td", { class: "mono small" }, s.id),
      h("td", { class: "mono small" }, s.every ? `every ${s.every}${s.offset ? ` +${s.offset}` : ""}` : s.cron ? `cron ${s.cron}` : "—"),
      h("td", null, s.paused ? "—" : fmtDate(s.next_action_time)),
      h("td", null, s.last_action ? link(captureHref(s.last_action.capture_id), fmtDate(s.last_action.started_at)) : "—"),
      h("td", { "data-field": "state" }, s.paused ? badge("paused") : badge("active"), s.note ? h("div", { class: "muted small" }, s.note) : null),
      h(
        "td",
        { class: "actions" },
        s.paused ? actionButton(s, "unpause", "Resume") : actionButton(s, "pause", "Pause"),
        actionButton(s, "trigger", "Trigger"),
        actionButton(s, "delete", "Delete"),
      ),
    );

  const loadModels = async (): Promise<Model[] | null> => {
    try {
      return await api.get<Model[]>("/models", undefined, signal);
    } catch (err) {
      if (isStatus(err, 404)) return null; // an API without the model list: the select offers the stream's setting only
      throw err;
    }
  };

  const buildForms = (models: Model[] | null): void => {
    // Start capture.
    const err = h("div", { class: "form-error-host" });
    const submit = h("button", { type: "submit", class: "primary" }, "Start capture");
    const form = h(
      "form",
      { "data-testid": "start-capture", novalidate: true, class: "settings-form" },
      h("div", { class: "fields" }, settingsFields(models)),
      h("div", { class: "form-actions" }, submit, err),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      setFormError(err, "form-error", null);
      let body;
      try {
        body = settingsFromValues(formValues(form));
      } catch (x) {
        setFormError(err, "form-error", errorMessage(x));
        return;
      }
      submit.disabled = true;
      api
        .post<CaptureStarted>(`${path}/captures`, body, signal)
        .then((res) => {
          rememberMaxFrames(res.capture_id, body.max_frames);
          location.hash = captureHref(res.capture_id);
        })
        .catch((x: unknown) => {
          if (isAbort(x)) return;
          if (x instanceof ApiError && x.status === 401) return;
          setFormError(err, "form-error", errorMessage(x));
        })
        .finally(() => {
          submit.disabled = false;
        });
    });
    replace(startHost, form);

    // Create schedule.
    const serr = h("div", { class: "form-error-host" });
    const ssubmit = h("button", { type: "submit" }, "Create schedule");
    const sform = h(
      "form",
      { "data-testid": "schedule-form", novalidate: true, class: "settings-form" },
      h("h3", null, "New schedule"),
      h(
        "div",
        { class: "fields" },
        field({ label: "Every", name: "every", placeholder: "1h", hint: "A duration, at least 10s (e.g. 15m, 1h)" }),
        field({ label: "Offset", name: "offset", placeholder: "15m", hint: "With every: shifts the starts" }),
        field({ label: "Or cron (UTC)", name: "cron", placeholder: "0 * * * *", hint: "5 fields, or @hourly, @daily…" }),
        field({ label: "Id", name: "id", placeholder: `capture-${id}` }),
        field({ label: "Note", name: "note", placeholder: "optional" }),
        field({ label: "Create paused", name: "paused", type: "checkbox" }),
      ),
      h("h4", { class: "muted" }, "Capture settings"),
      h("div", { class: "fields" }, settingsFields(models, SCHEDULE_SETTINGS_PREFIX)),
      h("div", { class: "form-actions" }, ssubmit, serr),
    );
    sform.addEventListener("submit", (e) => {
      e.preventDefault();
      setFormError(serr, "schedule-form-error", null);
      let body;
      try {
        body = scheduleFromValues(id, formValues(sform));
      } catch (x) {
        setFormError(serr, "schedule-form-error", errorMessage(x));
        return;
      }
      if (!body.every && !body.cron) {
        setFormError(serr, "schedule-form-error", "Give either every or cron.");
        return;
      }
      ssubmit.disabled = true;
      api
        .post<unknown>("/schedules", body, signal)
        .then(() => {
          sform.reset();
          scheduleStatus.textContent = `Schedule created.`;
          return loadSchedules();
        })
        .then(() => {
          setTimeout(() => {
            if (!signal.aborted) run(loadSchedules());
          }, 1500);
        })
        .catch((x: unknown) => {
          if (isAbort(x)) return;
          if (x instanceof ApiError && x.status === 401) return;
          setFormError(serr, "schedule-form-error", errorMessage(x));
        })
        .finally(() => {
          ssubmit.disabled = false;
        });
    });
    replace(scheduleHost, sform);
  };

  // --- controls and live updates ---

  // The chart's choices go in the address (without a new history entry or a
  // re-render), so a link or a reload keeps them.
  const chartChanged = (): void => {
    const r = rangeSel.value === DEFAULT_RANGE ? null : rangeSel.value;
    const b = bucketSel.value === "minute" ? null : bucketSel.value;
    history.replaceState(history.state, "", href({ page: "stream", id, range: r, bucket: b }));
    run(loadSeries());
  };
  bucketSel.addEventListener("change", chartChanged);
  rangeSel.addEventListener("change", chartChanged);
  metricSel.addEventListener("change", drawChart);

  const refreshAnalytics = debounce(() => {
    run(loadSeries());
    run(loadObjects());
  }, 500);
  const refreshCaptures = debounce(() => run(loadCaptures()), 500);
  const refreshFrame = debounce(() => run(loadFrame()), 500, 2000);
  ctx.onLeave(() => {
    refreshAnalytics.cancel();
    refreshCaptures.cancel();
    refreshFrame.cancel();
  });

  const onEvent = (ev: PipelineEvent): void => {
    if (ev.type === "rollup.finished") {
      refreshAnalytics();
      return;
    }
    if (ev.stream_id && ev.stream_id !== id) return;
    const data = ev.data ?? {};
    const row = capturesT.body.querySelector(`tr[data-capture="${CSS.escape(ev.capture_id)}"]`);
    switch (ev.type) {
      case "capture.started":
        refreshCaptures();
        break;
      case "capture.progress":
        if (row && typeof data.frames_captured === "number") {
          const cell = row.querySelector('td[data-field="frames_captured"]');
          if (cell) cell.textContent = String(data.frames_captured);
        } else {
          refreshCaptures();
        }
        break;
      case "capture.finished":
        if (row && typeof data.status === "string") {
          const cell = row.querySelector<HTMLElement>('td[data-field="status"]');
          if (cell) {
            cell.dataset.value = data.status;
            replace(cell, badge(data.status));
          }
        }
        refreshCaptures();
        break;
      case "chunk.detected":
        hasFrames = true;
        refreshFrame();
        break;
      default:
        break;
    }
  };

  ctx.live({ stream: id }, onEvent);

  const capturesThenFrame = loadCaptures().then(
    () => loadFrame(),
    async (err: unknown) => {
      // Without the list, still try the frame.
      hasFrames = true;
      await loadFrame();
      throw err;
    },
  );
  void settle(
    ctx,
    loadStream(),
    loadSeries(),
    loadObjects(),
    capturesThenFrame,
    loadSchedules(),
    loadModels().then(buildForms, (err: unknown) => {
      buildForms(null);
      throw err;
    }),
  ).then(() => ctx.ready());
}
