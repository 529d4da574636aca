// A capture's analysed frames (GET /captures/{id}/frames) as the capture
// page's scrubber steps through them: one position per frame, in index
// order; with sampling the indexes have gaps.

import type { FrameSummary } from "../types";

/** The page size asked of GET /captures/{id}/frames (the API's default). */
export const FRAMES_PAGE = 10000;

/**
 * mergeFrames adds the frames of a page fetched after the last known index to
 * a list: the result stays in index order, without repeats.
 */
export function mergeFrames(list: FrameSummary[], page: FrameSummary[]): FrameSummary[] {
  if (page.length === 0) return list;
  const last = list[list.length - 1]?.frame_index ?? -1;
  if (page.every((f, i) => f.frame_index > last && (i === 0 || f.frame_index > (page[i - 1]?.frame_index ?? -1)))) {
    return list.concat(page);
  }
  const byIndex = new Map<number, FrameSummary>();
  for (const f of list) byIndex.set(f.frame_index, f);
  for (const f of page) byIndex.set(f.frame_index, f);
  return [...byIndex.values()].sort((a, b) => a.frame_index - b.frame_index);
}

/**
 * positionOf is the scrubber position of a frame index: its entry, or the
 * last one before it (the first when none is), -1 for an empty list.
 */
export function positionOf(list: FrameSummary[], frameIndex: number): number {
  if (list.length === 0) return -1;
  let lo = 0;
  let hi = list.length - 1;
  if ((list[0]?.frame_index ?? 0) >= frameIndex) return 0;
  // Invariant: list[lo].frame_index < frameIndex; the answer is in [lo, hi].
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((list[mid]?.frame_index ?? 0) <= frameIndex) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * fetchAfterCovers tells whether a chunk detected, whose first frame is firstFrame,
 * can be read by asking for the frames after the last one listed: it comes
 * after them, or is listed already. Otherwise (detected out of order) the
 * whole list must be read again.
 */
export function fetchAfterCovers(list: FrameSummary[], firstFrame: number): boolean {
  const last = list[list.length - 1];
  if (!last || firstFrame > last.frame_index) return true;
  return list[positionOf(list, firstFrame)]?.frame_index === firstFrame;
}

export interface ScrubState {
  /** The frame index selected (shown or being loaded), null when none is. */
  selected: number | null;
  /** Whether the user moved the scrubber. */
  moved: boolean;
  /** Whether the capture still runs. */
  running: boolean;
}

/**
 * scrubTarget is the position to show once the list has changed: the newest
 * frame while the capture runs and the user has not moved the scrubber; the
 * frame selected otherwise (after the capture ends the position stays);
 * with nothing selected, the first frame of a capture that has ended.
 * -1 for an empty list.
 */
export function scrubTarget(list: FrameSummary[], s: ScrubState): number {
  if (list.length === 0) return -1;
  if (s.running && !s.moved) return list.length - 1;
  if (s.selected === null) return s.running ? list.length - 1 : 0;
  return positionOf(list, s.selected);
}
