import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fetchAfterCovers, mergeFrames, positionOf, scrubTarget } from "../src/lib/frames";
import type { FrameSummary } from "../src/types";

const f = (i: number): FrameSummary => ({ frame_index: i, ts: new Date(Date.UTC(2024, 4, 1, 12, 0, 0, i * 40)).toISOString(), detections: i % 3 });
const frames = (...idx: number[]): FrameSummary[] => idx.map(f);
const indexes = (l: FrameSummary[]): number[] => l.map((x) => x.frame_index);

describe("mergeFrames", () => {
  it("appends a page read after the last frame", () => {
    const a = frames(0, 1, 2);
    assert.deepEqual(indexes(mergeFrames(a, frames(3, 4))), [0, 1, 2, 3, 4]);
    assert.equal(mergeFrames(a, []), a);
    assert.deepEqual(indexes(mergeFrames([], frames(5, 10))), [5, 10]);
  });

  it("keeps index order without repeats whatever the page holds", () => {
    assert.deepEqual(indexes(mergeFrames(frames(0, 10, 20), frames(20, 5, 30))), [0, 5, 10, 20, 30]);
  });
});

describe("positionOf", () => {
  const sampled = frames(0, 6, 12, 18, 24);
  it("finds a frame's position, with gaps in the indexes", () => {
    assert.equal(positionOf(sampled, 0), 0);
    assert.equal(positionOf(sampled, 12), 2);
    assert.equal(positionOf(sampled, 24), 4);
  });
  it("takes the frame before an index not listed, the first before them all", () => {
    assert.equal(positionOf(sampled, 13), 2);
    assert.equal(positionOf(sampled, 100), 4);
    assert.equal(positionOf(frames(5, 6), 2), 0);
    assert.equal(positionOf([], 3), -1);
  });
});

describe("fetchAfterCovers", () => {
  it("reads a chunk after the list, or one listed, by what comes after the last frame", () => {
    const l = frames(0, 1, 2, 3, 10, 11);
    assert.equal(fetchAfterCovers(l, 12), true);
    assert.equal(fetchAfterCovers([], 0), true);
    assert.equal(fetchAfterCovers(l, 10), true);
    // A chunk detected out of order: its frames fall before the last one listed.
    assert.equal(fetchAfterCovers(l, 4), false);
  });
});

describe("scrubTarget", () => {
  const l = frames(0, 1, 2, 3);
  it("follows the newest frame while the capture runs and the scrubber was not moved", () => {
    assert.equal(scrubTarget(l, { selected: 1, moved: false, running: true }), 3);
    assert.equal(scrubTarget(l, { selected: null, moved: false, running: true }), 3);
  });
  it("keeps the frame the user chose", () => {
    assert.equal(scrubTarget(l, { selected: 1, moved: true, running: true }), 1);
    assert.equal(scrubTarget(frames(0, 1, 2, 3, 4, 5), { selected: 1, moved: true, running: false }), 1);
  });
  it("keeps the position after the capture ends", () => {
    assert.equal(scrubTarget(frames(0, 1, 2, 3, 4), { selected: 3, moved: false, running: false }), 3);
  });
  it("starts an ended capture at its first frame, nothing for an empty list", () => {
    assert.equal(scrubTarget(l, { selected: null, moved: false, running: false }), 0);
    assert.equal(scrubTarget([], { selected: null, moved: false, running: true }), -1);
  });
});
