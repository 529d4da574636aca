package contract

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// CaptureInput starts a capture. It is the JSON a person pastes into the
// Temporal UI, for example {"stream_id":"lobby","source":"/videos/lobby.avi"}:
// the stream, its source, and the Settings fields at the top level.
type CaptureInput struct {
	StreamID string `json:"stream_id"`
	// Source is a file path or URL; empty: the stream's registered source.
	Source string `json:"source,omitempty"`
	Settings
	// KnownLive says the source answered before (a StreamWorkflow's later
	// windows): a first open that times out or finds nothing is an outage
	// to ride out as a gap, not a bad source that fails the capture.
	KnownLive bool `json:"known_live,omitempty"`
}

// Validate checks the input (see Settings.Validate).
func (in CaptureInput) Validate() error {
	if err := ValidateStreamID(in.StreamID); err != nil {
		return err
	}
	return in.Settings.Validate()
}

// CaptureResult summarises a finished capture.
type CaptureResult struct {
	CaptureID  string `json:"capture_id"`
	Frames     int    `json:"frames"`
	Chunks     int    `json:"chunks"`
	Detections int    `json:"detections"`
	Tracks     int    `json:"tracks"`    // confirmed tracks
	Crossings  int    `json:"crossings"` // line crossings counted
	// FramesSkipped are frames realtime mode left undetected.
	FramesSkipped int `json:"frames_skipped,omitempty"`
}

// CaptureProgress is what ProgressQuery returns.
type CaptureProgress struct {
	Phase          string `json:"phase"` // starting, capturing, detecting, rollup, canceling, done
	FramesCaptured int    `json:"frames_captured"`
	Chunks         int    `json:"chunks"`
	ChunksDetected int    `json:"chunks_detected"`
	FramesAnalysed int    `json:"frames_analysed"`
	Detections     int    `json:"detections"`
	ChunksTracked  int    `json:"chunks_tracked"`
	Tracks         int    `json:"tracks"`
	Crossings      int    `json:"crossings"`
	// LagMS is the time from a chunk being stored to its detections being
	// stored, for the last chunk detected; MaxLagMS is the worst so far.
	LagMS    int64 `json:"lag_ms"`
	MaxLagMS int64 `json:"max_lag_ms"`
	// Mode is the detection mode in force; ChunksSkipped and FramesSkipped
	// count what realtime mode left undetected.
	Mode          string `json:"mode,omitempty"`
	ChunksSkipped int    `json:"chunks_skipped"`
	FramesSkipped int    `json:"frames_skipped"`
}

// NewCaptureID returns a fresh workflow (and capture) id for a stream:
// readable, sortable by start time, and unique thanks to a random suffix.
func NewCaptureID(streamID string, now time.Time) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return fmt.Sprintf("capture-%s-%s-%s", streamID, now.UTC().Format("20060102T150405Z"), hex.EncodeToString(b))
}
