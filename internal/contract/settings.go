package contract

import (
	"fmt"
	"math"

	"github.com/sightline-video/sightline/internal/detectconf"
	"github.com/sightline-video/sightline/internal/tracking"
)

// Defaults for the fields Settings leaves empty.
const (
	DefaultChunkFrames       = 50
	DefaultDetectConcurrency = 4
)

// Bounds on Settings: beyond them a value is a mistake, not a choice.
const (
	MaxChunkFrames       = 1000             // a chunk is held in memory whole
	MaxDetectConcurrency = 256              // detections in flight per capture
	MaxEveryMS           = 24 * 3600 * 1000 // one frame a day
)

// Settings are how one capture runs. The same JSON fields mean the same
// thing wherever a capture is started: the body of POST
// /api/v1/streams/{id}/captures, CaptureWorkflow's input, each window of
// StreamWorkflow, a schedule's "capture", and the flags of `sightline
// capture` and `sightline schedule create`. Zero values mean the defaults.
type Settings struct {
	// EveryMS samples one frame per this many ms of stream time; 0: every frame.
	EveryMS int `json:"every_ms,omitempty"`
	// ChunkFrames is the frames per stored chunk (default 50).
	ChunkFrames int `json:"chunk_frames,omitempty"`
	// MaxFrames stops after this many sampled frames; 0: no limit.
	MaxFrames int `json:"max_frames,omitempty"`
	// DurationSeconds stops after this much time: stream time for files,
	// wall-clock time from the capture's start for live sources; 0: no limit.
	DurationSeconds float64 `json:"duration_seconds,omitempty"`
	// Detect chooses the model and filters detections, e.g.
	// {"model":"picodet_s_416_coco","filter":{"classes":["person","car"]}};
	// nil: the stream's settings, else the worker's default model.
	Detect *detectconf.Config `json:"detect,omitempty"`
	// Tracking sets the tracker's thresholds and the lines and zones to
	// count, e.g. {"lines":[{"name":"door","from":[0,300],"to":[640,300]}]};
	// nil: the stream's settings, else the defaults with nothing to count.
	Tracking *tracking.Config `json:"tracking,omitempty"`
	// GPU sends detection to the GPU workers' queue when DetectTaskQueue is empty.
	GPU bool `json:"gpu,omitempty"`
	// DetectTaskQueue is where detection runs; empty: the default detect
	// queue, or the GPU one with GPU.
	DetectTaskQueue string `json:"detect_task_queue,omitempty"`
	// DetectConcurrency bounds the capture's detections in flight (default 4).
	DetectConcurrency int `json:"detect_concurrency,omitempty"`
	// SkipRollup leaves the rollup to a later run.
	SkipRollup bool `json:"skip_rollup,omitempty"`
	// Mode is what happens when detection falls behind: ModeComplete
	// detects every sampled frame and catches up, ModeRealtime detects the
	// newest chunks first and skips those waiting longer than MaxLagSeconds.
	// Empty: the stream's mode, else realtime for live sources and complete
	// for files. A running capture switches on ModeSignal.
	Mode string `json:"mode,omitempty"`
	// MaxLagSeconds is how long a chunk may wait for detection in realtime
	// mode before it is skipped; 0: two chunks' worth of sampled time
	// (ChunkFrames × EveryMS), or of the time between chunks arriving when
	// every frame is kept.
	MaxLagSeconds float64 `json:"max_lag_seconds,omitempty"`
}

// Detection modes (Settings.Mode).
const (
	ModeComplete = "complete"
	ModeRealtime = "realtime"
)

// ValidateMode checks a mode; empty is valid and means "choose by source".
func ValidateMode(mode string) error {
	if mode != "" && mode != ModeComplete && mode != ModeRealtime {
		return invalid("mode", "%q is not a mode: use %q or %q", mode, ModeComplete, ModeRealtime)
	}
	return nil
}

// FieldError is a validation error naming the JSON field at fault.
type FieldError struct {
	Field string // e.g. "every_ms" or "detect.filter.min_score"
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks every field on its own; whether the model and classes of
// Detect exist is for detectconf.Config.Validate with a registry. Errors are
// *FieldError.
func (s Settings) Validate() error {
	switch {
	case s.EveryMS < 0 || s.EveryMS > MaxEveryMS:
		return invalid("every_ms", "%d is out of range [0, %d]", s.EveryMS, MaxEveryMS)
	case s.ChunkFrames < 0 || s.ChunkFrames > MaxChunkFrames:
		return invalid("chunk_frames", "%d is out of range [0, %d]", s.ChunkFrames, MaxChunkFrames)
	case s.MaxFrames < 0:
		return invalid("max_frames", "must not be negative, got %d", s.MaxFrames)
	case s.DurationSeconds < 0 || math.IsNaN(s.DurationSeconds) || math.IsInf(s.DurationSeconds, 0):
		return invalid("duration_seconds", "must be a non-negative number of seconds, got %v", s.DurationSeconds)
	case s.DetectConcurrency < 0 || s.DetectConcurrency > MaxDetectConcurrency:
		return invalid("detect_concurrency", "%d is out of range [0, %d]", s.DetectConcurrency, MaxDetectConcurrency)
	case len(s.DetectTaskQueue) > 200:
		return invalid("detect_task_queue", "longer than 200 characters")
	case s.MaxLagSeconds < 0 || math.IsNaN(s.MaxLagSeconds) || math.IsInf(s.MaxLagSeconds, 0):
		return invalid("max_lag_seconds", "must be a non-negative number of seconds, got %v", s.MaxLagSeconds)
	}
	if err := ValidateMode(s.Mode); err != nil {
		return err
	}
	if s.Tracking != nil {
		if err := s.Tracking.Validate(); err != nil {
			return invalid("tracking", "%v", err)
		}
	}
	if s.Detect != nil && s.Detect.Filter != nil {
		f := s.Detect.Filter
		if !(f.MinScore >= 0 && f.MinScore < 1) { // NaN too
			return invalid("detect.filter.min_score", "%v is out of range [0, 1)", f.MinScore)
		}
		for c, v := range f.ClassMinScore {
			if !(v > 0 && v < 1) {
				return invalid("detect.filter.class_min_score", "%q: %v is out of range (0, 1)", c, v)
			}
		}
		for _, c := range f.Classes {
			if c == "" {
				return invalid("detect.filter.classes", "empty class name")
			}
		}
	}
	return nil
}

// WithQueues fills DetectTaskQueue from a deployment's queue names: gpu
// when GPU is set, else detect. Callers that know their configuration call
// it before WithDefaults, so the input shown in the Temporal UI names the
// queue that runs.
func (s Settings) WithQueues(detect, gpu string) Settings {
	if s.DetectTaskQueue == "" {
		if s.GPU {
			s.DetectTaskQueue = gpu
		} else {
			s.DetectTaskQueue = detect
		}
	}
	return s
}

// WithDefaults returns s with every empty field that has a default filled in.
func (s Settings) WithDefaults() Settings {
	if s.ChunkFrames == 0 {
		s.ChunkFrames = DefaultChunkFrames
	}
	if s.DetectConcurrency == 0 {
		s.DetectConcurrency = DefaultDetectConcurrency
	}
	return s.WithQueues(DefaultDetectTaskQueue, DefaultGPUDetectQueue)
}
