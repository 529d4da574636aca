package counting

import (
	"cmp"
	"maps"
	"slices"
)

// Observation is one confirmed track in a frame, as the tracker reports it.
type Observation struct {
	TrackID int64
	Class   string
	Box     [4]float32 // x1, y1, x2, y2 in image pixels
}

// Frame identifies a frame of the stream.
type Frame struct {
	Index int   // frame index in the source
	PTSms int64 // stream time, ms
}

// Events is what one Update or Finish produced. Each list is sorted by line
// or zone in configuration order, then by track ID (Occupancy by class).
type Events struct {
	Crossings []Crossing  `json:"crossings,omitempty"`
	Entries   []ZoneVisit `json:"entries,omitempty"`
	Exits     []ZoneVisit `json:"exits,omitempty"`
	// Occupancy has one entry per zone and class with a count above zero
	// at the frame; Finish leaves it empty.
	Occupancy []Occupancy `json:"occupancy,omitempty"`
}

// Empty reports whether there are no events at all.
func (e Events) Empty() bool {
	return len(e.Crossings) == 0 && len(e.Entries) == 0 && len(e.Exits) == 0 && len(e.Occupancy) == 0
}

// Crossing is a track counted across a line. Frame and PTSms are those of
// the frame where the debounce completed, which is when the count became
// certain; CrossedFrame is the first frame on the new side.
type Crossing struct {
	Line         string `json:"line"`
	Direction    string `json:"direction"` // In or Out
	TrackID      int64  `json:"track_id"`
	Class        string `json:"class"` // as observed at Frame
	Frame        int    `json:"frame"`
	PTSms        int64  `json:"pts_ms"`
	CrossedFrame int    `json:"crossed_frame"`
}

// ZoneVisit is a track's stay in a zone. An entry event carries the enter
// fields only; an exit carries the whole visit. The class is the one
// observed when the entry was counted, for the entry and the exit alike.
type ZoneVisit struct {
	Zone       string `json:"zone"`
	TrackID    int64  `json:"track_id"`
	Class      string `json:"class"`
	EnterFrame int    `json:"enter_frame"`
	EnterMS    int64  `json:"enter_ms"`
	ExitFrame  int    `json:"exit_frame"`
	ExitMS     int64  `json:"exit_ms"`
	DwellMS    int64  `json:"dwell_ms"`
}

// Occupancy is how many tracks of a class are in a zone at a frame: the
// open visits of that class.
type Occupancy struct {
	Zone  string `json:"zone"`
	Class string `json:"class"`
	Count int    `json:"count"`
}

// track is a counter's knowledge of one track, one state per line and per
// zone in configuration order.
type track struct {
	lines []LineState
	zones []ZoneState
}

// Counter turns a stream of tracked objects into counting events. It is not
// safe for concurrent use.
type Counter struct {
	cfg      Config // validated, defaults applied, owned
	zones    []zoneShape
	lineIdx  map[string]int
	zoneIdx  map[string]int
	debounce int
	tracks   map[int64]*track

	// Reused by Update.
	obs    []Observation
	counts []map[string]int
}

// New returns a counter with no tracks.
func New(cfg Config) (*Counter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cloneConfig(cfg.WithDefaults())
	c := &Counter{
		cfg:      cfg,
		lineIdx:  make(map[string]int, len(cfg.Lines)),
		zoneIdx:  make(map[string]int, len(cfg.Zones)),
		debounce: cfg.Debounce,
		tracks:   make(map[int64]*track),
		counts:   make([]map[string]int, len(cfg.Zones)),
	}
	for i, l := range cfg.Lines {
		c.lineIdx[l.Name] = i
	}
	for i, z := range cfg.Zones {
		c.zoneIdx[z.Name] = i
		c.zones = append(c.zones, newZoneShape(z))
		c.counts[i] = make(map[string]int)
	}
	return c, nil
}

// cloneConfig copies c so that the caller's slices stay the caller's.
func cloneConfig(c Config) Config {
	c.Lines = slices.Clone(c.Lines)
	c.Zones = slices.Clone(c.Zones)
	for i := range c.Zones {
		c.Zones[i].Points = slices.Clone(c.Zones[i].Points)
	}
	return c
}

// Config returns the counter's configuration, defaults applied.
func (c *Counter) Config() Config { return cloneConfig(c.cfg) }

// Tracks returns how many tracks the counter holds: those seen and not yet
// removed.
func (c *Counter) Tracks() int { return len(c.tracks) }

func (c *Counter) newTrack() *track {
	return &track{
		lines: make([]LineState, len(c.cfg.Lines)),
		zones: make([]ZoneState, len(c.cfg.Zones)),
	}
}

// anchor is the bottom centre of a box, where an object stands; false for
// a box with a coordinate that is not finite.
func anchor(b [4]float32) (Point, bool) {
	p := Point{(float64(b[0]) + float64(b[2])) / 2, float64(b[3])}
	return p, p.finite()
}

// Update advances the counter by one frame. Frames must come in stream
// order. obs are the tracks observed in the frame; a track ID repeated in
// obs counts once, by its first observation, and an observation whose box
// is not finite is skipped, as if the track were not seen. removed are the
// tracks the tracker dropped at this frame: they are handled after obs, a
// visit they have open ends at the last frame they were seen inside, and
// the counter forgets them. A track neither observed nor removed keeps its
// state, its zone memberships included.
func (c *Counter) Update(f Frame, obs []Observation, removed []int64) Events {
	var ev Events
	// In ID order, so that events come out the same whatever the order of
	// obs.
	c.obs = append(c.obs[:0], obs...)
	slices.SortStableFunc(c.obs, func(a, b Observation) int { return cmp.Compare(a.TrackID, b.TrackID) })
	for i, o := range c.obs {
		if i > 0 && o.TrackID == c.obs[i-1].TrackID {
			continue
		}
		p, ok := anchor(o.Box)
		if !ok {
			continue
		}
		t := c.tracks[o.TrackID]
		if t == nil {
			t = c.newTrack()
			c.tracks[o.TrackID] = t
		}
		for j, l := range c.cfg.Lines {
			if x, ok := t.lines[j].step(l, p, f, c.debounce); ok {
				ev.Crossings = append(ev.Crossings, Crossing{
					Line: l.Name, Direction: x.dir, TrackID: o.TrackID, Class: o.Class,
					Frame: f.Index, PTSms: f.PTSms, CrossedFrame: x.crossedFrame,
				})
			}
		}
		for j := range c.zones {
			z := &c.zones[j]
			switch v, change := t.zones[j].step(z.name, o.TrackID, z.contains(p), o.Class, f, c.debounce); change {
			case entered:
				ev.Entries = append(ev.Entries, v)
			case exited:
				ev.Exits = append(ev.Exits, v)
			}
		}
	}
	for _, id := range removed {
		if t := c.tracks[id]; t != nil {
			ev.Exits = c.closeVisits(ev.Exits, id, t)
			delete(c.tracks, id)
		}
	}
	ev.Occupancy = c.occupancy()
	c.sort(&ev)
	return ev
}

// Finish ends the stream: every open visit exits at the last frame its
// track was seen inside, and the counter forgets all tracks.
func (c *Counter) Finish() Events {
	var ev Events
	for _, id := range slices.Sorted(maps.Keys(c.tracks)) {
		ev.Exits = c.closeVisits(ev.Exits, id, c.tracks[id])
	}
	clear(c.tracks)
	c.sort(&ev)
	return ev
}

// closeVisits appends the visits track id has open, closing them.
func (c *Counter) closeVisits(exits []ZoneVisit, id int64, t *track) []ZoneVisit {
	for j := range t.zones {
		if t.zones[j].Inside {
			exits = append(exits, t.zones[j].close(c.zones[j].name, id))
		}
	}
	return exits
}

// occupancy counts the open visits per zone and class.
func (c *Counter) occupancy() []Occupancy {
	if len(c.zones) == 0 {
		return nil
	}
	for _, m := range c.counts {
		clear(m)
	}
	for _, t := range c.tracks { // counting only: the order does not matter
		for j := range t.zones {
			if t.zones[j].Inside {
				c.counts[j][t.zones[j].EnterClass]++
			}
		}
	}
	var occ []Occupancy
	for j, m := range c.counts {
		for _, class := range slices.Sorted(maps.Keys(m)) {
			occ = append(occ, Occupancy{Zone: c.zones[j].name, Class: class, Count: m[class]})
		}
	}
	return occ
}

// sort puts events in their documented order: by line or zone in
// configuration order, then by track ID.
func (c *Counter) sort(ev *Events) {
	slices.SortFunc(ev.Crossings, func(a, b Crossing) int {
		return cmp.Or(cmp.Compare(c.lineIdx[a.Line], c.lineIdx[b.Line]), cmp.Compare(a.TrackID, b.TrackID))
	})
	byZone := func(a, b ZoneVisit) int {
		return cmp.Or(cmp.Compare(c.zoneIdx[a.Zone], c.zoneIdx[b.Zone]), cmp.Compare(a.TrackID, b.TrackID))
	}
	slices.SortFunc(ev.Entries, byZone)
	slices.SortFunc(ev.Exits, byZone)
}

// ZonesVisited returns the names of the zones track id has entered so far,
// sorted. The counter forgets a track once it is removed, so ask before
// passing its ID in removed.
func (c *Counter) ZonesVisited(id int64) []string {
	t := c.tracks[id]
	if t == nil {
		return nil
	}
	var names []string
	for j := range t.zones {
		if t.zones[j].Visited {
			names = append(names, c.zones[j].name)
		}
	}
	slices.Sort(names)
	return names
}
