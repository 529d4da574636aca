import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { debounce, type Clock } from "../src/lib/timing";

/** A clock whose time moves only with tick(). */
function fakeClock(): Clock & { tick(ms: number): void } {
  let now = 1_000_000;
  let next = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = next++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout(h) {
      timers.delete(h as number);
    },
    tick(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
  };
}

describe("debounce", () => {
  it("runs once after a burst, and at least every maxWait while calls keep coming", () => {
    const clock = fakeClock();
    let runs = 0;
    const d = debounce(() => runs++, 100, 300, clock);
    d();
    d();
    clock.tick(99);
    assert.equal(runs, 0);
    clock.tick(1);
    assert.equal(runs, 1);
    // A call every 50 ms would put it off for ever: maxWait makes it run.
    for (let i = 0; i < 8; i++) {
      d();
      clock.tick(50);
    }
    assert.equal(runs, 2);
    clock.tick(200);
    assert.equal(runs, 3);
    d();
    d.cancel();
    clock.tick(1000);
    assert.equal(runs, 3);
  });
});
