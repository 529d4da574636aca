package contract

import "regexp"

// streamIDPattern matches the CHECK constraint on streams.id.
var streamIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidateStreamID checks a stream id; the error is a *FieldError on stream_id.
func ValidateStreamID(id string) error {
	if id == "" {
		return invalid("stream_id", "is required")
	}
	if !streamIDPattern.MatchString(id) {
		return invalid("stream_id", "%q is not a stream id: use 1 to 63 lower-case letters, digits, '_' or '-', starting with a letter or digit", id)
	}
	return nil
}

// Defaults for StreamInput.
const (
	DefaultWindowSeconds = 300
	DefaultWindowsPerRun = 50
)

// StreamInput watches a stream for a long time, one capture window after
// another: {"stream_id":"lobby","duration_seconds":300,"every_ms":1000}.
// Its Settings are each window's: DurationSeconds is the window's length
// (default 300 s), MaxFrames bounds each window.
type StreamInput struct {
	StreamID string `json:"stream_id"`
	Settings
	// WindowSeconds is the older name of DurationSeconds, still accepted.
	WindowSeconds float64 `json:"window_seconds,omitempty"`
	MaxWindows    int     `json:"max_windows,omitempty"`     // stop after this many windows; 0: never
	WindowsPerRun int     `json:"windows_per_run,omitempty"` // continue-as-new after this many (default 50)

	// Carried over continue-as-new; leave them out when starting.
	Window   int `json:"window,omitempty"`   // index of the next window
	Failures int `json:"failures,omitempty"` // consecutive failed windows
}

// Validate checks the input.
func (in StreamInput) Validate() error {
	if err := ValidateStreamID(in.StreamID); err != nil {
		return err
	}
	switch {
	case in.WindowSeconds < 0:
		return invalid("window_seconds", "must not be negative")
	case in.MaxWindows < 0:
		return invalid("max_windows", "must not be negative")
	case in.WindowsPerRun < 0:
		return invalid("windows_per_run", "must not be negative")
	}
	return in.Settings.Validate()
}

// WindowSettings returns the settings of each window, with the window's
// length in DurationSeconds.
func (in StreamInput) WindowSettings() Settings {
	s := in.Settings
	if s.DurationSeconds == 0 {
		s.DurationSeconds = in.WindowSeconds
	}
	if s.DurationSeconds == 0 {
		s.DurationSeconds = DefaultWindowSeconds
	}
	return s
}

// StreamProgress is what StreamProgressQuery returns.
type StreamProgress struct {
	Window        int    `json:"window"`       // index of the current window
	CurrentID     string `json:"current_id"`   // its CaptureWorkflow id
	WindowsDone   int    `json:"windows_done"` // in this run
	Failures      int    `json:"failures"`     // consecutive failed windows
	LastError     string `json:"last_error,omitempty"`
	FramesInRun   int    `json:"frames_in_run"`
	DetectionsRun int    `json:"detections_in_run"`
	// FramesSkippedRun are the frames realtime mode skipped in this run.
	FramesSkippedRun int `json:"frames_skipped_in_run"`
	// Mode is the detection mode the windows are given; empty: the stream's.
	Mode string `json:"mode,omitempty"`
}
