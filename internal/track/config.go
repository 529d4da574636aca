package track

import "fmt"

// Config sets the tracker's thresholds. Score thresholds are float32, like
// detection.Detection.Score, so that a threshold compares equal to a score
// written with the same digits (float32(0.7) is below float64 0.7).
type Config struct {
	// HighScore: detections at or above it are matched first and may start
	// tracks. Default 0.5.
	HighScore float32 `json:"high_score"`
	// LowScore: detections below it are ignored; those in
	// [LowScore, HighScore) only take part in the second pass. Default 0.1.
	LowScore float32 `json:"low_score"`
	// NewTrackScore: an unmatched high-score detection needs at least this
	// score to start a tentative track. Values below HighScore act like
	// HighScore. Default 0.6.
	NewTrackScore float32 `json:"new_track_score"`
	// MatchIoU: minimum IoU between a high-score detection and the predicted
	// box of a confirmed (tracked or lost) track. Default 0.2.
	MatchIoU float64 `json:"match_iou"`
	// LowMatchIoU: minimum IoU between a low-score detection and a track
	// tracked on the previous frame. Stricter than MatchIoU because low
	// scores include more clutter. Default 0.5.
	LowMatchIoU float64 `json:"low_match_iou"`
	// TentativeMatchIoU: minimum IoU between a high-score detection and a
	// tentative track. Default 0.3.
	TentativeMatchIoU float64 `json:"tentative_match_iou"`
	// ConfirmHits: consecutive matched frames, the first included, after
	// which a tentative track is confirmed. 1 confirms new tracks at once.
	// Default 2.
	ConfirmHits int `json:"confirm_hits"`
	// MaxLost: frames a confirmed track is kept, predicted, while unmatched;
	// it is removed on the next miss. Default 30.
	MaxLost int `json:"max_lost"`
}

// DefaultConfig returns ByteTrack's defaults (track_thresh 0.5, new tracks
// from 0.6, match_thresh 0.8 as a cost, i.e. IoU 0.2), with MaxLost as its
// track_buffer of 30 frames.
func DefaultConfig() Config {
	return Config{
		HighScore:         0.5,
		LowScore:          0.1,
		NewTrackScore:     0.6,
		MatchIoU:          0.2,
		LowMatchIoU:       0.5,
		TentativeMatchIoU: 0.3,
		ConfirmHits:       2,
		MaxLost:           30,
	}
}

// Validate reports the first field out of range.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    float32
	}{
		{"high_score", c.HighScore},
		{"low_score", c.LowScore},
		{"new_track_score", c.NewTrackScore},
	} {
		if !(f.v >= 0 && f.v <= 1) { // also rejects NaN
			return fmt.Errorf("track: config %s %v out of range [0, 1]", f.name, f.v)
		}
	}
	if c.LowScore > c.HighScore {
		return fmt.Errorf("track: config low_score %v above high_score %v", c.LowScore, c.HighScore)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"match_iou", c.MatchIoU},
		{"low_match_iou", c.LowMatchIoU},
		{"tentative_match_iou", c.TentativeMatchIoU},
	} {
		// Zero is excluded so that disjoint boxes, and other classes, which
		// score IoU 0, can never match.
		if !(f.v > 0 && f.v <= 1) {
			return fmt.Errorf("track: config %s %v out of range (0, 1]", f.name, f.v)
		}
	}
	if c.ConfirmHits < 1 {
		return fmt.Errorf("track: config confirm_hits %d below 1", c.ConfirmHits)
	}
	if c.MaxLost < 1 {
		return fmt.Errorf("track: config max_lost %d below 1", c.MaxLost)
	}
	return nil
}

// WithDefaults fills the zero fields with DefaultConfig's values.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	orDefault(&c.HighScore, d.HighScore)
	orDefault(&c.LowScore, d.LowScore)
	orDefault(&c.NewTrackScore, d.NewTrackScore)
	orDefault(&c.MatchIoU, d.MatchIoU)
	orDefault(&c.LowMatchIoU, d.LowMatchIoU)
	orDefault(&c.TentativeMatchIoU, d.TentativeMatchIoU)
	orDefault(&c.ConfirmHits, d.ConfirmHits)
	orDefault(&c.MaxLost, d.MaxLost)
	return c
}

func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
