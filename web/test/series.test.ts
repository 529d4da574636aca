import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bucketCount, defaultCovers, rangeQuery, rangeSeconds, seriesEnd, seriesToChart, sparkPoints } from "../src/lib/series";
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

describe("sparkPoints", () => {
  it("fits the values into the box, bottom edge at the lowest of the values and 0", () => {
    assert.equal(sparkPoints([0, 1, 2], 100, 20, 0), "0,20 50,10 100,0");
    assert.equal(sparkPoints([], 100, 20), "");
    assert.equal(sparkPoints([3], 100, 20, 0), "0,0");
    assert.equal(sparkPoints([0, 0], 10, 10, 0), "0,10 10,10");
  });
});
