package contract

import "fmt"

// Retention is a retention policy, like Frigate's record.retain: stored
// frames (chunk objects) are kept ChunksDays and rows (captures with their
// frames, detections and gaps) RowsDays after the capture ended; 0 keeps
// them forever. It is RetentionWorkflow's input, the global default
// (SIGHTLINE_RETAIN_CHUNKS_DAYS, SIGHTLINE_RETAIN_ROWS_DAYS), and a stream
// overrides either with its own.
type Retention struct {
	ChunksDays int `json:"chunks_days"`
	RowsDays   int `json:"rows_days"`
}

// Validate checks the policy.
func (r Retention) Validate() error {
	if r.ChunksDays < 0 {
		return invalid("chunks_days", "must not be negative, got %d", r.ChunksDays)
	}
	if r.RowsDays < 0 {
		return invalid("rows_days", "must not be negative, got %d", r.RowsDays)
	}
	return nil
}

// StreamRetention is a stream's override of the global policy; a nil field
// means the global default.
type StreamRetention struct {
	ChunksDays *int `json:"chunks_days"`
	RowsDays   *int `json:"rows_days"`
}

// Validate checks the override.
func (r StreamRetention) Validate() error {
	for _, f := range []struct {
		name string
		v    *int
	}{{"retention.chunks_days", r.ChunksDays}, {"retention.rows_days", r.RowsDays}} {
		if f.v != nil && *f.v < 0 {
			return &FieldError{Field: f.name, Msg: fmt.Sprintf("must not be negative, got %d", *f.v)}
		}
	}
	return nil
}

// RetentionResult says what a RetentionWorkflow run removed.
type RetentionResult struct {
	ChunksExpired   int   `json:"chunks_expired"`   // chunk objects removed; their rows stay
	CapturesDeleted int64 `json:"captures_deleted"` // captures removed with all their rows
	FramesDeleted   int64 `json:"frames_deleted"`
	Rollup          bool  `json:"rollup"` // whether the rollups were refreshed
}
