package counting

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// stateVersion is the layout of State; Restore refuses others.
const stateVersion = 1

// State is a counter's snapshot, for saving as JSON between chunks of a
// stream: Restore turns it back into a counter that produces exactly the
// events the saved one would have. It carries the configuration it was
// taken under, so that it cannot be restored into another.
type State struct {
	Version int          `json:"version"`
	Config  Config       `json:"config"`
	Tracks  []TrackState `json:"tracks"` // by ID
}

// TrackState is one track's state: one entry per line and per zone, in
// configuration order.
type TrackState struct {
	ID    int64       `json:"id"`
	Lines []LineState `json:"lines,omitempty"`
	Zones []ZoneState `json:"zones,omitempty"`
}

// State returns a snapshot of the counter; it shares nothing with it.
func (c *Counter) State() State {
	s := State{Version: stateVersion, Config: cloneConfig(c.cfg), Tracks: make([]TrackState, 0, len(c.tracks))}
	for _, id := range slices.Sorted(maps.Keys(c.tracks)) {
		t := c.tracks[id]
		s.Tracks = append(s.Tracks, TrackState{ID: id, Lines: slices.Clone(t.lines), Zones: slices.Clone(t.zones)})
	}
	return s
}

// Restore returns a counter in the state s, which must have been taken
// under cfg. It checks the snapshot, as one read back from storage may be
// damaged or stale.
func Restore(cfg Config, s State) (*Counter, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("counting: state version %d, want %d", s.Version, stateVersion)
	}
	if err := sameConfig(c.cfg, s.Config.WithDefaults()); err != nil {
		return nil, fmt.Errorf("counting: state was taken under another configuration: %w", err)
	}
	for _, ts := range s.Tracks {
		if err := c.checkTrack(ts); err != nil {
			return nil, fmt.Errorf("counting: state: track %d: %w", ts.ID, err)
		}
		c.tracks[ts.ID] = &track{lines: slices.Clone(ts.Lines), zones: slices.Clone(ts.Zones)}
	}
	return c, nil
}

// sameConfig reports how the state's configuration saved differs from the
// counter's, cur.
func sameConfig(cur, saved Config) error {
	if saved.Debounce != cur.Debounce {
		return fmt.Errorf("debounce_frames %d in the state, %d here", saved.Debounce, cur.Debounce)
	}
	if len(saved.Lines) != len(cur.Lines) {
		return fmt.Errorf("%d lines in the state, %d here", len(saved.Lines), len(cur.Lines))
	}
	for i, l := range cur.Lines {
		if saved.Lines[i] != l {
			s := saved.Lines[i]
			return fmt.Errorf("line %d is %q from %v to %v in the state, %q from %v to %v here", i+1, s.Name, s.From, s.To, l.Name, l.From, l.To)
		}
	}
	if len(saved.Zones) != len(cur.Zones) {
		return fmt.Errorf("%d zones in the state, %d here", len(saved.Zones), len(cur.Zones))
	}
	for i, z := range cur.Zones {
		s := saved.Zones[i]
		if s.Name != z.Name {
			return fmt.Errorf("zone %d is %q in the state, %q here", i+1, s.Name, z.Name)
		}
		if !slices.Equal(s.Points, z.Points) {
			return fmt.Errorf("zone %q has other points in the state", z.Name)
		}
	}
	return nil
}

// checkTrack checks a saved track against the counter's configuration.
func (c *Counter) checkTrack(ts TrackState) error {
	if _, dup := c.tracks[ts.ID]; dup {
		return errors.New("appears twice")
	}
	if len(ts.Lines) != len(c.cfg.Lines) {
		return fmt.Errorf("%d line states for %d lines", len(ts.Lines), len(c.cfg.Lines))
	}
	if len(ts.Zones) != len(c.cfg.Zones) {
		return fmt.Errorf("%d zone states for %d zones", len(ts.Zones), len(c.cfg.Zones))
	}
	for j, s := range ts.Lines {
		if err := s.check(c.debounce); err != nil {
			return fmt.Errorf("line %q: %w", c.cfg.Lines[j].Name, err)
		}
	}
	for j, s := range ts.Zones {
		if err := s.check(c.debounce); err != nil {
			return fmt.Errorf("zone %q: %w", c.cfg.Zones[j].Name, err)
		}
	}
	return nil
}

func (s LineState) check(debounce int) error {
	switch {
	case s.Side < -1 || s.Side > 1:
		return fmt.Errorf("side %d, want -1, 0 or 1", s.Side)
	case !s.Last.finite():
		return fmt.Errorf("last position %v is not finite", s.Last)
	case s.Pending < 0 || s.Pending >= debounce:
		return fmt.Errorf("pending %d out of range [0, %d)", s.Pending, debounce)
	case s.Side == 0 && (s.Pending != 0 || s.CountedIn || s.CountedOut):
		return errors.New("pending or counted before the side is known")
	}
	return nil
}

func (s ZoneState) check(debounce int) error {
	switch {
	case s.Run < 0 || s.Run >= debounce:
		return fmt.Errorf("run %d out of range [0, %d)", s.Run, debounce)
	case s.Inside && !s.Visited:
		return errors.New("inside but never entered")
	}
	return nil
}
