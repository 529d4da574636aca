// #/rankings[?object=X] — streams ranked by how many of an object they show
// per frame, each with a sparkline of the last day by hour.

import { settle, type PageContext } from "../app";
import { drawSparkline, sparkline } from "../components/sparkline";
import { api, enc, isAbort } from "../lib/api";
import { classColor } from "../lib/boxes";
import { card, emptyRow, h, link, replace, table } from "../lib/dom";
import { fmtInt, fmtNum } from "../lib/format";
import { href, streamHref } from "../lib/route";
import { debounce } from "../lib/timing";
import type { ObjectOverall, Series, StreamRank } from "../types";

export function rankingsPage(ctx: PageContext, wanted: string | null): void {
  const { signal } = ctx;
  const objectSel = h("select", { "data-testid": "object", "aria-label": "Object" });
  const ranksT = table("rankings", ["#", "Stream", "Per frame", "Max per frame", "Frames", "Last 24 h"]);
  const note = h("p", { class: "muted small" });

  replace(
    ctx.root,
    h("div", { class: "page-head" }, h("h1", null, "Rankings")),
    card(
      "Streams by object",
      "rankings",
      h("div", { class: "controls" }, h("label", null, "Object ", objectSel), note),
      h("div", { class: "scroll" }, ranksT.table),
    ),
  );

  objectSel.addEventListener("change", () => {
    location.hash = href({ page: "rankings", object: objectSel.value || null });
  });

  const loadSparkline = async (svg: SVGSVGElement, streamId: string, object: string): Promise<void> => {
    const series = await api.get<Series[]>(
      `/streams/${enc(streamId)}/series`,
      { objects: object, bucket: "hour", points: 60 },
      signal,
    );
    const s = series.find((x) => x.object === object) ?? series[0];
    drawSparkline(svg, s ? s.avg_per_frame : [], classColor(object), `${object} per frame, by hour`);
  };

  const loadRanking = async (object: string): Promise<void> => {
    const rows = await api.get<StreamRank[]>("/rankings/streams", { object, limit: 100 }, signal);
    const sparks: Promise<void>[] = [];
    const failed: Error[] = [];
    replace(
      ranksT.body,
      rows.length
        ? rows.map((r) => {
            const svg = sparkline();
            sparks.push(
              loadSparkline(svg, r.stream_id, object).catch((err: unknown) => {
                if (isAbort(err)) throw err;
                failed.push(err instanceof Error ? err : new Error(String(err)));
              }),
            );
            return h(
              "tr",
              { "data-stream": r.stream_id },
              h("td", { class: "num" }, r.rank),
              h("td", null, link(streamHref(r.stream_id), r.stream_name || r.stream_id)),
              h("td", { class: "num", "data-field": "avg_per_frame", "data-value": String(r.avg_per_frame) }, fmtNum(r.avg_per_frame, 3)),
              h("td", { class: "num", "data-field": "max_per_frame", "data-value": String(r.max_per_frame) }, r.max_per_frame),
              h("td", { class: "num" }, fmtInt(r.frames)),
              h("td", { class: "spark" }, svg),
            );
          })
        : emptyRow(6, `No stream has shown a ${object} yet.`),
    );
    await Promise.all(sparks);
    if (failed[0]) throw failed[0];
  };

  const load = async (): Promise<void> => {
    const objects = await api.get<ObjectOverall[]>("/rankings/objects", { limit: 1000 }, signal);
    const names = objects.map((o) => o.object);
    if (wanted && !names.includes(wanted)) names.unshift(wanted);
    replace(
      objectSel,
      names.length ? names.map((n) => h("option", { value: n }, n)) : h("option", { value: "" }, "no objects yet"),
    );
    const object = wanted ?? names[0] ?? null;
    if (!object) {
      note.textContent = "No objects counted yet: rankings appear after a capture's rollup.";
      replace(ranksT.body, emptyRow(6, "Nothing to rank yet."));
      return;
    }
    objectSel.value = object;
    note.textContent = "";
    await loadRanking(object);
  };

  const refresh = debounce(() => {
    load().catch((err: unknown) => ctx.fail(err));
  }, 500);
  ctx.onLeave(() => refresh.cancel());
  ctx.live({}, (ev) => {
    if (ev.type === "rollup.finished") refresh();
  });

  void settle(ctx, load()).then(() => ctx.ready());
}
