// Package track links per-frame detections of a video into object tracks.
//
// The tracker follows ByteTrack (Zhang et al., 2022) with a few changes that
// suit a pipeline which checkpoints and resumes it:
//
//  1. Each track carries a constant-velocity Kalman filter on the box centre,
//     aspect ratio and height (see kalman.go); every frame starts by
//     predicting all tracks one step ahead.
//  2. Detections scoring at least HighScore (0.5) are matched to confirmed
//     tracks, both those tracked on the previous frame and lost ones, by
//     optimal assignment on IoU with the predicted boxes (MatchIoU 0.2).
//  3. Detections in [LowScore, HighScore) (LowScore 0.1) are matched to the
//     tracks still unmatched that were tracked on the previous frame
//     (LowMatchIoU 0.5). They keep an object alive through a dip in
//     confidence, such as a partial occlusion, but never start a track.
//     Tracks still unmatched become lost.
//  4. The remaining high-score detections are matched to tentative tracks
//     (TentativeMatchIoU 0.3). A tentative track is confirmed after
//     ConfirmHits (2) consecutive matched frames and dropped as soon as it
//     misses one.
//  5. High-score detections left over scoring at least NewTrackScore (0.6)
//     start tentative tracks. On the first frame they are confirmed at once,
//     as in ByteTrack.
//  6. A confirmed track unmatched for more than MaxLost (30) frames is
//     removed.
//
// Matching is per class: a detection only matches a track of the same class
// name. Track IDs are handed out from 1 when a track is confirmed, so they
// are dense and a tentative track that dies never uses one.
//
// The tracker is deterministic: no randomness, no map iteration, ties in an
// assignment are broken by index order. State returns a snapshot that
// survives a JSON round trip exactly, and Restore resumes from it with the
// same results as a tracker that never stopped, within the same build (the
// compiler may fuse floating-point operations differently on another
// architecture).
//
// Unlike ByteTrack the IoU is not weighted by detection score, and
// overlapping tracked and lost tracks are not de-duplicated.
package track
