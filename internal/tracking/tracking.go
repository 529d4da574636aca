// Package tracking follows objects from frame to frame and counts them: it
// runs the tracker (internal/track) on each frame's detections and feeds
// its confirmed tracks to the line and zone counter (internal/counting).
// Workers and `sightline track` both go through it, so they count alike,
// and its state survives a restart exactly.
package tracking

import (
	"encoding/json"
	"fmt"

	"github.com/sightline-video/sightline/internal/counting"
	"github.com/sightline-video/sightline/internal/detection"
	"github.com/sightline-video/sightline/internal/track"
)

// Config is a stream's (or a capture's) tracking settings: the tracker's
// thresholds, and the lines and zones to count, in image pixels. Its JSON
// is {"tracker": {...}, "lines": [...], "zones": [...], "debounce_frames": N}.
type Config struct {
	// Tracker's zero fields take track.DefaultConfig's values.
	Tracker track.Config `json:"tracker,omitzero"`
	counting.Config
}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	c.Tracker = c.Tracker.WithDefaults()
	c.Config = c.Config.WithDefaults()
	return c
}

// Validate checks the settings with their defaults filled in.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if err := c.Tracker.Validate(); err != nil {
		return err
	}
	return c.Config.Validate()
}

// Frame is one analysed frame: where it is in the source and its detections.
type Frame struct {
	counting.Frame
	Detections []detection.Detection
}

// Result is what one frame gave: the confirmed track of each detection (0
// for none), the tracks that ended, and the counter's events.
type Result struct {
	IDs     []int64
	Removed []int64
	Events  counting.Events
}

// Follower tracks and counts one capture's frames, in order.
type Follower struct {
	tracker *track.Tracker
	counter *counting.Counter
	obs     []counting.Observation
}

// New starts a capture's tracking.
func New(cfg Config) (*Follower, error) {
	cfg = cfg.WithDefaults()
	t, err := track.New(cfg.Tracker) // each part validates its settings
	if err != nil {
		return nil, err
	}
	c, err := counting.New(cfg.Config)
	if err != nil {
		return nil, err
	}
	return &Follower{tracker: t, counter: c}, nil
}

// Next consumes the next frame.
func (f *Follower) Next(fr Frame) Result {
	r := f.tracker.Update(fr.Detections)
	f.obs = f.obs[:0]
	for _, t := range f.tracker.Active() {
		f.obs = append(f.obs, counting.Observation{TrackID: t.ID, Class: t.Class, Box: t.Box})
	}
	return Result{IDs: r.IDs, Removed: r.Removed, Events: f.counter.Update(fr.Frame, f.obs, r.Removed)}
}

// Finish ends the capture: the visits of tracks still in a zone close at
// their last frame inside.
func (f *Follower) Finish() counting.Events { return f.counter.Finish() }

// state is what a Follower saves between chunks.
type state struct {
	Tracker track.State    `json:"tracker"`
	Counter counting.State `json:"counter"`
}

// State is the follower's state as JSON, which Restore takes back exactly.
func (f *Follower) State() ([]byte, error) {
	b, err := json.Marshal(state{Tracker: f.tracker.State(), Counter: f.counter.State()})
	if err != nil {
		return nil, fmt.Errorf("tracking: save state: %w", err)
	}
	return b, nil
}

// Restore resumes a follower saved by State with the same settings.
func Restore(cfg Config, data []byte) (*Follower, error) {
	cfg = cfg.WithDefaults()
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("tracking: read state: %w", err)
	}
	t, err := track.Restore(cfg.Tracker, s.Tracker)
	if err != nil {
		return nil, fmt.Errorf("tracking: restore: %w", err)
	}
	c, err := counting.Restore(cfg.Config, s.Counter)
	if err != nil {
		return nil, fmt.Errorf("tracking: restore: %w", err)
	}
	return &Follower{tracker: t, counter: c}, nil
}
