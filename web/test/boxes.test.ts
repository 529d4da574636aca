import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { boxLabel, classColor, classesOf, contains, hitTest, inSide, lineLabel, lineTotals, toImage, visibleBoxes } from "../src/lib/boxes";
import type { Detection } from "../src/types";

const det = (cls: string, score: number, box: [number, number, number, number]): Detection => ({
  class_id: 0,
  class: cls,
  score,
  box,
});

const person = det("person", 0.9, [10, 10, 110, 210]);
const dog = det("dog", 0.3, [50, 150, 90, 200]);
const car = det("car", 0.29, [300, 40, 500, 160]);
const weak = det("person", 0.05, [0, 0, 640, 480]);
const ALL = [person, dog, car, weak];

describe("visibleBoxes", () => {
  it("keeps scores at or above the threshold", () => {
    assert.deepEqual(visibleBoxes(ALL, 0.3, new Set()), [person, dog]);
    assert.deepEqual(visibleBoxes(ALL, 0, new Set()), ALL);
    assert.deepEqual(visibleBoxes(ALL, 0.95, new Set()), []);
    assert.deepEqual(visibleBoxes(ALL, 0.25, new Set()), [person, dog, car]);
  });

  it("leaves out the classes switched off", () => {
    assert.deepEqual(visibleBoxes(ALL, 0, new Set(["person"])), [dog, car]);
    assert.deepEqual(visibleBoxes(ALL, 0.3, new Set(["dog", "car"])), [person]);
  });
});

describe("classesOf", () => {
  it("lists each class once, sorted", () => {
    assert.deepEqual(classesOf(ALL), ["car", "dog", "person"]);
    assert.deepEqual(classesOf([]), []);
  });
});

describe("hitTest", () => {
  it("finds the box under the point, edges included", () => {
    assert.equal(hitTest([person, car], 20, 20), person);
    assert.equal(hitTest([person, car], 110, 210), person);
    assert.equal(hitTest([person, car], 400, 100), car);
    assert.equal(hitTest([person, car], 200, 300), null);
    assert.equal(hitTest([], 1, 1), null);
  });

  it("prefers the smallest of overlapping boxes, then the higher score", () => {
    assert.equal(hitTest([weak, person, dog], 60, 160), dog);
    assert.equal(hitTest([weak, person, dog], 20, 20), person);
    assert.equal(hitTest([weak, person, dog], 600, 400), weak);
    const twin = det("cat", 0.95, [10, 10, 110, 210]);
    assert.equal(hitTest([person, twin], 50, 50), twin);
  });

  it("accepts boxes given with their corners swapped", () => {
    const flipped = det("x", 0.5, [100, 100, 0, 0]);
    assert.ok(contains(flipped, 50, 50));
    assert.equal(hitTest([flipped], 50, 50), flipped);
  });
});

describe("toImage", () => {
  it("maps a pointer on a scaled element into image pixels", () => {
    const rect = { left: 100, top: 50, width: 320, height: 240 };
    assert.deepEqual(toImage(100, 50, rect, 640, 480), [0, 0]);
    assert.deepEqual(toImage(420, 290, rect, 640, 480), [640, 480]);
    assert.deepEqual(toImage(260, 170, rect, 640, 480), [320, 240]);
  });
});

describe("classColor", () => {
  it("is fixed per class and differs between common classes", () => {
    assert.equal(classColor("person"), classColor("person"));
    const colors = new Set(["person", "car", "dog", "bicycle", "truck"].map(classColor));
    assert.equal(colors.size, 5);
    assert.match(classColor("person"), /^hsl\(\d+ 80% 42%\)$/);
  });
});

describe("boxLabel", () => {
  it("names the class, the track when tracked, and the score", () => {
    assert.equal(boxLabel(person), "person 0.90");
    assert.equal(boxLabel({ ...person, track_id: 12 }), "person #12 0.90");
    assert.equal(boxLabel({ ...person, track_id: 0 }), "person 0.90");
  });
});

describe("inSide", () => {
  it("points from the middle to the positive side of (B-A) x (P-A), y down", () => {
    // Left to right: in is downwards on screen.
    assert.deepEqual(inSide([0, 100], [200, 100], 10), [
      [100, 100],
      [100, 110],
    ]);
    // Right to left: in is upwards.
    assert.deepEqual(inSide([200, 100], [0, 100], 10), [
      [100, 100],
      [100, 90],
    ]);
    // Top to bottom: in is to the left.
    const [, tip] = inSide([50, 0], [50, 100], 5);
    assert.deepEqual(tip, [45, 50]);
  });
});

describe("lineTotals", () => {
  it("adds up the buckets per line and direction", () => {
    const at = "2024-05-01T12:00:00Z";
    const totals = lineTotals([
      { line: "door", direction: "in", object: "person", bucket: at, crossings: 3 },
      { line: "door", direction: "in", object: "car", bucket: at, crossings: 1 },
      { line: "door", direction: "out", object: "person", bucket: at, crossings: 2 },
      { line: "gate", direction: "out", object: "person", bucket: at, crossings: 5 },
    ]);
    assert.deepEqual(totals.get("door"), { in: 4, out: 2 });
    assert.deepEqual(totals.get("gate"), { in: 0, out: 5 });
    assert.equal(lineLabel("door", totals.get("door")), "door in 4 out 2");
    assert.equal(lineLabel("stile", totals.get("stile")), "stile");
  });
});
