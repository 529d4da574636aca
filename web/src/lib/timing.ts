// Debouncing for refetches triggered by bursts of live events.

export interface Debounced {
  (): void;
  cancel(): void;
}

/**
 * debounce runs fn once `wait` ms after the last call, but at least every
 * `maxWait` ms while calls keep coming (so a steady stream of events still
 * refreshes the page).
 */
export function debounce(fn: () => void, wait: number, maxWait = wait * 4): Debounced {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let first = 0;
  const run = (): void => {
    timer = undefined;
    first = 0;
    fn();
  };
  const d = (): void => {
    const now = Date.now();
    if (first === 0) first = now;
    if (timer !== undefined) clearTimeout(timer);
    const due = Math.min(wait, Math.max(0, first + maxWait - now));
    timer = setTimeout(run, due);
  };
  d.cancel = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    first = 0;
  };
  return d;
}
