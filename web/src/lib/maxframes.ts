// The API does not report a capture's max_frames; the dashboard remembers the
// ones it started itself (for this browser tab) so their progress bars can
// show how far along they are.

const KEY = "sightline.maxFrames";

function read(): Record<string, number> {
  try {
    const raw = sessionStorage.getItem(KEY);
    const v = raw ? (JSON.parse(raw) as unknown) : null;
    return v && typeof v === "object" ? (v as Record<string, number>) : {};
  } catch {
    return {};
  }
}

export function rememberMaxFrames(captureId: string, max: number | undefined): void {
  if (!max || max <= 0) return;
  try {
    const all = read();
    all[captureId] = max;
    const keys = Object.keys(all);
    for (const k of keys.slice(0, Math.max(0, keys.length - 50))) delete all[k];
    sessionStorage.setItem(KEY, JSON.stringify(all));
  } catch {
    // storage full or unavailable: the bar stays indeterminate
  }
}

export function knownMaxFrames(captureId: string): number | null {
  const v = read()[captureId];
  return typeof v === "number" && v > 0 ? v : null;
}
