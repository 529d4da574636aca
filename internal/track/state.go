package track

import (
	"errors"
	"fmt"
	"math"
)

// stateVersion is the State layout written by this package.
const stateVersion = 1

// State is a snapshot of a Tracker, for saving between chunks of a video.
// It survives a JSON round trip exactly: float64 and float32 values are
// written with enough digits to be read back unchanged.
type State struct {
	Version int `json:"version"`
	// Config is the configuration the tracker ran with; Restore requires
	// the same, as another would change what follows.
	Config Config       `json:"config"`
	Frames int          `json:"frames"`  // frames consumed
	NextID int64        `json:"next_id"` // ID the next confirmed track gets
	Tracks []TrackState `json:"tracks"`  // in the tracker's internal order
}

// TrackState is one track of a State. A track with ID 0 is tentative; a
// confirmed one is tracked when LastFrame is Frames−1 and lost before that.
type TrackState struct {
	ID         int64      `json:"id"`
	ClassID    int        `json:"class_id"`
	Class      string     `json:"class"`
	FirstFrame int        `json:"first_frame"`
	LastFrame  int        `json:"last_frame"`
	Box        [4]float32 `json:"box"`
	Score      float32    `json:"score"`
	// Mean and Cov are the Kalman filter's state (cx, cy, aspect, height
	// and their velocities) and its covariance, row-major.
	Mean [8]float64    `json:"mean"`
	Cov  [8][8]float64 `json:"cov"`
}

// State returns a snapshot of the tracker. It shares nothing with it.
func (t *Tracker) State() State {
	s := State{
		Version: stateVersion,
		Config:  t.cfg,
		Frames:  t.frames,
		NextID:  t.nextID,
		Tracks:  make([]TrackState, len(t.tracks)),
	}
	for i := range t.tracks {
		tr := &t.tracks[i]
		s.Tracks[i] = TrackState{
			ID:         tr.id,
			ClassID:    tr.classID,
			Class:      tr.class,
			FirstFrame: tr.first,
			LastFrame:  tr.last,
			Box:        tr.box,
			Score:      tr.score,
			Mean:       tr.kf.mean,
			Cov:        tr.kf.cov,
		}
	}
	return s
}

// Restore returns a tracker that continues from s exactly as the tracker
// that produced it would. cfg must equal the configuration s was made with.
// A snapshot that breaks the tracker's invariants (counts out of range,
// duplicate IDs, a tentative or lost track that should be gone, non-finite
// numbers, a covariance that is not symmetric with positive variances) is
// rejected.
func Restore(cfg Config, s State) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := s.validate(cfg); err != nil {
		return nil, fmt.Errorf("track: restore: %w", err)
	}
	t := &Tracker{
		cfg:    cfg,
		frames: s.Frames,
		nextID: s.NextID,
		tracks: make([]tracklet, len(s.Tracks)),
	}
	for i, ts := range s.Tracks {
		t.tracks[i] = tracklet{
			id:      ts.ID,
			classID: ts.ClassID,
			class:   ts.Class,
			first:   ts.FirstFrame,
			last:    ts.LastFrame,
			box:     ts.Box,
			score:   ts.Score,
			kf:      kalman{mean: ts.Mean, cov: ts.Cov},
		}
	}
	return t, nil
}

func (s *State) validate(cfg Config) error {
	if s.Version != stateVersion {
		return fmt.Errorf("state version %d, want %d", s.Version, stateVersion)
	}
	if s.Config != cfg {
		return fmt.Errorf("state was saved with config %+v, not %+v", s.Config, cfg)
	}
	if s.Frames < 0 {
		return fmt.Errorf("frames %d is negative", s.Frames)
	}
	if s.NextID < 1 {
		return fmt.Errorf("next_id %d below 1", s.NextID)
	}
	if s.Frames == 0 && (len(s.Tracks) > 0 || s.NextID != 1) {
		return errors.New("no frames consumed, yet tracks or IDs exist")
	}
	seen := make(map[int64]bool, len(s.Tracks)) // only looked up, never ranged
	for i := range s.Tracks {
		ts := &s.Tracks[i]
		if err := ts.validate(s.Frames, s.NextID, cfg); err != nil {
			return fmt.Errorf("track %d (id %d): %w", i, ts.ID, err)
		}
		if ts.ID != 0 {
			if seen[ts.ID] {
				return fmt.Errorf("track %d: id %d appears twice", i, ts.ID)
			}
			seen[ts.ID] = true
		}
	}
	return nil
}

func (ts *TrackState) validate(frames int, nextID int64, cfg Config) error {
	last := frames - 1 // the last frame consumed
	if ts.FirstFrame < 0 || ts.FirstFrame > ts.LastFrame || ts.LastFrame > last {
		return fmt.Errorf("frames %d..%d outside 0..%d", ts.FirstFrame, ts.LastFrame, last)
	}
	switch {
	case ts.ID < 0 || ts.ID >= nextID:
		return fmt.Errorf("id outside 0..%d", nextID-1)
	case ts.ID == 0:
		// Tentative tracks are dropped on their first miss and confirmed
		// after ConfirmHits frames, or at once on the first frame.
		if ts.LastFrame != last {
			return fmt.Errorf("tentative track last matched at frame %d, not %d", ts.LastFrame, last)
		}
		if n := ts.LastFrame - ts.FirstFrame + 1; n >= cfg.ConfirmHits || ts.FirstFrame == 0 {
			return fmt.Errorf("tentative track matched on frames %d..%d should have been confirmed",
				ts.FirstFrame, ts.LastFrame)
		}
	default:
		if last-ts.LastFrame > cfg.MaxLost {
			return fmt.Errorf("lost since frame %d, more than max_lost %d frames before frame %d",
				ts.LastFrame, cfg.MaxLost, last)
		}
	}
	if b := ts.Box; !validBox([4]float64{float64(b[0]), float64(b[1]), float64(b[2]), float64(b[3])}) {
		return fmt.Errorf("box %v is not finite with positive size", b)
	}
	if !(ts.Score >= cfg.LowScore) || math.IsInf(float64(ts.Score), 1) {
		return fmt.Errorf("score %v is not finite at or above low_score %v", ts.Score, cfg.LowScore)
	}
	k := kalman{mean: ts.Mean, cov: ts.Cov}
	return k.check()
}
