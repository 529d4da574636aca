import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FieldError, parseClasses, scheduleFromValues, settingsFromValues } from "../src/lib/settings";

describe("settingsFromValues", () => {
  it("leaves every empty field out", () => {
    assert.deepEqual(
      settingsFromValues({
        every_ms: "",
        chunk_frames: "  ",
        max_frames: "",
        duration_seconds: "",
        detect_model: "",
        detect_classes: " , ",
        detect_min_score: "",
        gpu: false,
        detect_task_queue: "",
        detect_concurrency: "",
        skip_rollup: false,
      }),
      {},
    );
  });

  it("builds the whole body from a filled form", () => {
    assert.deepEqual(
      settingsFromValues({
        every_ms: "500",
        chunk_frames: "25",
        max_frames: "100",
        duration_seconds: "12.5",
        detect_model: "picodet_s_416_coco",
        detect_classes: "person, car,person,,dog ",
        detect_min_score: "0.4",
        gpu: true,
        detect_task_queue: "detect-gpu",
        detect_concurrency: "8",
        skip_rollup: true,
      }),
      {
        every_ms: 500,
        chunk_frames: 25,
        max_frames: 100,
        duration_seconds: 12.5,
        detect: { model: "picodet_s_416_coco", filter: { classes: ["person", "car", "dog"], min_score: 0.4 } },
        gpu: true,
        detect_task_queue: "detect-gpu",
        detect_concurrency: 8,
        skip_rollup: true,
      },
    );
  });

  it("nests only the detect parts given", () => {
    assert.deepEqual(settingsFromValues({ detect_model: "m" }), { detect: { model: "m" } });
    assert.deepEqual(settingsFromValues({ detect_classes: "car" }), { detect: { filter: { classes: ["car"] } } });
    assert.deepEqual(settingsFromValues({ detect_min_score: "0" }), { detect: { filter: { min_score: 0 } } });
  });

  it("keeps zero, which the API reads as its default, and sends unchecked boxes as nothing", () => {
    assert.deepEqual(settingsFromValues({ every_ms: "0", gpu: false, skip_rollup: "on" }), { every_ms: 0, skip_rollup: true });
  });

  it("passes out-of-range numbers on for the API to judge, but refuses what is not a number", () => {
    assert.deepEqual(settingsFromValues({ chunk_frames: "-3" }), { chunk_frames: -3 });
    assert.throws(() => settingsFromValues({ max_frames: "ten" }), (e: unknown) => e instanceof FieldError && e.field === "max_frames");
  });

  it("reads prefixed names", () => {
    assert.deepEqual(settingsFromValues({ capture_every_ms: "1000", every_ms: "5" }, "capture_"), { every_ms: 1000 });
  });
});

describe("parseClasses", () => {
  it("splits, trims and drops repeats and blanks", () => {
    assert.deepEqual(parseClasses(" person ,car,, person,traffic light"), ["person", "car", "traffic light"]);
    assert.deepEqual(parseClasses(""), []);
  });
});

describe("scheduleFromValues", () => {
  it("builds a schedule spec with its capture settings", () => {
    assert.deepEqual(
      scheduleFromValues("lobby", {
        id: "",
        every: " 1h ",
        offset: "15m",
        cron: "",
        note: "",
        paused: true,
        capture_max_frames: "50",
        capture_detect_classes: "person",
        capture_gpu: false,
      }),
      {
        stream_id: "lobby",
        every: "1h",
        offset: "15m",
        paused: true,
        capture: { max_frames: 50, detect: { filter: { classes: ["person"] } } },
      },
    );
  });

  it("leaves capture out when no setting is given", () => {
    assert.deepEqual(scheduleFromValues("yard", { cron: "@hourly", id: "nightly", note: "why" }), {
      stream_id: "yard",
      id: "nightly",
      cron: "@hourly",
      note: "why",
    });
  });
});
