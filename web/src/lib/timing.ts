// Debouncing for refetches triggered by bursts of live events.

export interface Debounced {
  (): void;
  cancel(): void;
}

/** The clock debounce uses; tests pass a fake one. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * debounce runs fn once `wait` ms after the last call, but at least every
 * `maxWait` ms while calls keep coming (so a steady stream of events still
 * refreshes the page).
 */
export function debounce(fn: () => void, wait: number, maxWait = wait * 4, clock: Clock = realClock): Debounced {
  let timer: unknown;
  let first = 0;
  const run = (): void => {
    timer = undefined;
    first = 0;
    fn();
  };
  const d = (): void => {
    const now = clock.now();
    if (first === 0) first = now;
    if (timer !== undefined) clock.clearTimeout(timer);
    const due = Math.min(wait, Math.max(0, first + maxWait - now));
    timer = clock.setTimeout(run, due);
  };
  d.cancel = (): void => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    first = 0;
  };
  return d;
}
