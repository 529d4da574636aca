import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bucketCount,
  chartWindow,
  defaultCovers,
  rangeQuery,
  rangeSeconds,
  seriesEnd,
  seriesToChart,
  sparkPoints,
  xScaleRange,
  yScaleRange,
} from "../src/lib/series";
import type { Series } from "../src/types";

const t = (m: number): string => new Date(Date.UTC(2024, 4, 1, 12, m)).toISOString();
const x = (m: number): number => Date.UTC(2024, 4, 1, 12, m) / 1000;

const person: Series = {
  object: "person",
  rank: 1,
  bucket_seconds: 60,
  buckets: [t(0), t(1), t(2), t(3)],
  frames: [10, 10, 10, 10],
  objects: [20, 5, 0, 7],
  avg_per_frame: [2, 0.5, 0, 0.7],
  max_per_frame: [3, 1, 0, 2],
};
const car: Series = {
  object: "car",
  rank: 2,
  bucket_seconds: 60,
  buckets: [t(1), t(3), t(4)],
  frames: [10, 10, 10],
  objects: [1, 2, 3],
  avg_per_frame: [0.1, 0.2, 0.3],
  max_per_frame: [1, 1, 2],
};

describe("seriesToChart", () => {
  it("aligns every series on one sorted time axis, null where a series has no bucket", () => {
    const d = seriesToChart([person, car], "avg_per_frame");
    assert.deepEqual(d.xs, [x(0), x(1), x(2), x(3), x(4)]);
    assert.deepEqual(d.ys, [
      [2, 0.5, 0, 0.7, null],
      [null, 0.1, null, 0.2, 0.3],
    ]);
    assert.deepEqual(d.labels, ["person", "car"]);
    assert.equal(d.bucketSeconds, 60);
  });

  it("counts one point per bucket of each series: the sum of buckets.length", () => {
    const d = seriesToChart([person, car], "objects");
    assert.equal(d.points, 7);
    assert.equal(d.points, bucketCount([person, car]));
    const plotted = d.ys.reduce((n, ys) => n + ys.filter((y) => y !== null).length, 0);
    assert.equal(plotted, d.points);
  });

  it("picks the metric asked for", () => {
    assert.deepEqual(seriesToChart([person], "objects").ys, [[20, 5, 0, 7]]);
    assert.deepEqual(seriesToChart([person], "max_per_frame").ys, [[3, 1, 0, 2]]);
  });

  it("handles no data and answers without bucket_seconds", () => {
    const d = seriesToChart([], "avg_per_frame");
    assert.deepEqual([d.xs, d.ys, d.points, d.bucketSeconds], [[], [], 0, null]);
    const old: Series = { ...person };
    delete old.bucket_seconds;
    assert.equal(seriesToChart([old], "objects").bucketSeconds, null);
  });

  it("scales to a year of minutes", () => {
    const n = 100_000;
    const start = Date.UTC(2024, 0, 1);
    const big: Series = {
      object: "person",
      rank: 1,
      bucket_seconds: 60,
      buckets: Array.from({ length: n }, (_, i) => new Date(start + i * 60_000).toISOString()),
      frames: new Array<number>(n).fill(1),
      objects: new Array<number>(n).fill(1),
      avg_per_frame: new Array<number>(n).fill(1),
      max_per_frame: new Array<number>(n).fill(1),
    };
    const d = seriesToChart([big, { ...big, object: "car" }], "avg_per_frame");
    assert.equal(d.points, 2 * n);
    assert.equal(d.xs.length, n);
  });
});

describe("seriesEnd and ranges", () => {
  it("is the end of the newest bucket", () => {
    assert.equal(seriesEnd([person, car]), (x(4) + 60) * 1000);
    assert.equal(seriesEnd([{ ...person, bucket_seconds: 3600 }]), (x(3) + 3600) * 1000);
    assert.equal(seriesEnd([]), null);
  });

  it("asks for from/to only where the API's default range differs", () => {
    assert.equal(defaultCovers("24h", "minute"), true);
    assert.equal(defaultCovers("24h", "hour"), true);
    assert.equal(defaultCovers("24h", "day"), false);
    assert.equal(defaultCovers("30d", "day"), true);
    assert.equal(defaultCovers("1y", "minute"), false);
    const end = Date.UTC(2024, 4, 1, 12, 5);
    assert.deepEqual(rangeQuery(end, 3600), { from: "2024-05-01T11:05:00.000Z", to: "2024-05-01T12:05:00.000Z" });
  });

  it("knows the offered ranges", () => {
    assert.equal(rangeSeconds("1h"), 3600);
    assert.equal(rangeSeconds("7d"), 7 * 86400);
    assert.equal(rangeSeconds("1y"), 365 * 86400);
    assert.equal(rangeSeconds("2w"), null);
  });
});

describe("the chart's scales", () => {
  // One bucket: a short capture, rolled up into a single minute.
  const single: Series = { ...person, buckets: [t(3)], frames: [10], objects: [7], avg_per_frame: [0.7], max_per_frame: [2] };

  it("spans the range the query asked for: the day before the end of the newest bucket by default", () => {
    const d = seriesToChart([single], "avg_per_frame");
    const end = seriesEnd([single]);
    assert.equal(end, (x(3) + 60) * 1000);
    const win = chartWindow(end ?? 0, rangeSeconds("24h") ?? 0, d.xs);
    assert.deepEqual(win, { min: x(4) - 86400, max: x(4) });
    // The point sits inside, at its time; the axis is a day, not years.
    assert.ok(win.min <= x(3) && x(3) <= win.max);
    assert.equal(win.max - win.min, 86400);
  });

  it("spans an explicit range: [to − range, to]", () => {
    const to = Date.UTC(2024, 4, 1, 12, 5);
    const q = rangeQuery(to, 3600);
    const win = chartWindow(to, 3600, [x(0), x(4)]);
    assert.deepEqual(win, { min: Date.parse(q.from) / 1000, max: Date.parse(q.to) / 1000 });
  });

  it("widens to hold a point outside the range", () => {
    const to = Date.UTC(2024, 4, 1, 12, 5);
    const dayStart = Date.UTC(2024, 4, 1) / 1000; // a day bucket starts before a one-hour range
    assert.deepEqual(chartWindow(to, 3600, [dayStart]), { min: dayStart, max: to / 1000 });
    assert.deepEqual(chartWindow(to, 60, [to / 1000 + 60]), { min: to / 1000 - 60, max: to / 1000 + 60 });
  });

  it("gives the window when uPlot ranges over the data, and keeps a zoom", () => {
    const win = { min: x(4) - 86400, max: x(4) };
    // uPlot's own guess for one point of seconds: 1000 days after it.
    assert.deepEqual(xScaleRange(win, [x(3)], x(3), x(3) + 86_400_000), [win.min, win.max]);
    assert.deepEqual(xScaleRange(win, [x(0), x(3)], x(0), x(3)), [win.min, win.max]);
    assert.deepEqual(xScaleRange(win, [x(0), x(3)], null, null), [win.min, win.max]);
    assert.deepEqual(xScaleRange(win, [x(0), x(3)], x(1) + 0.5, x(2) + 0.25), [x(1) + 0.5, x(2) + 0.25]);
    assert.deepEqual(xScaleRange(win, [x(0), x(3)], win.min, win.max), [win.min, win.max]);
  });

  it("starts y at 0, one point or many", () => {
    assert.deepEqual(yScaleRange(0.7), [0, 0.7 * 1.1]);
    assert.deepEqual(yScaleRange(0), [0, 1]);
    assert.deepEqual(yScaleRange(null), [0, 1]);
    assert.deepEqual(yScaleRange(-Infinity), [0, 1]);
  });
});

describe("sparkPoints", () => {
  it("fits the values into the box, bottom edge at the lowest of the values and 0", () => {
    assert.equal(sparkPoints([0, 1, 2], 100, 20, 0), "0,20 50,10 100,0");
    assert.equal(sparkPoints([], 100, 20), "");
    assert.equal(sparkPoints([3], 100, 20, 0), "0,0");
    assert.equal(sparkPoints([0, 0], 10, 10, 0), "0,10 10,10");
  });
});
