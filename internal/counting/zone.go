package counting

import "math"

// ZoneState is what a counter knows of one track against one zone. It is
// part of a saved State.
type ZoneState struct {
	// Inside is the debounced membership; Visited records that the track
	// has entered at least once.
	Inside  bool `json:"inside,omitempty"`
	Visited bool `json:"visited,omitempty"`
	// Run counts consecutive observed frames on the other side of the
	// boundary from Inside, starting at RunFrame.
	Run      int   `json:"run,omitempty"`
	RunFrame int   `json:"run_frame,omitempty"`
	RunMS    int64 `json:"run_ms,omitempty"`
	// LastIn is the last frame the track was seen inside, debounced or
	// not: where a visit ends.
	LastInFrame int   `json:"last_in_frame,omitempty"`
	LastInMS    int64 `json:"last_in_ms,omitempty"`
	// The open visit, while Inside; its class is the one at entry, so that
	// the exit reports the class the entry did.
	EnterFrame int    `json:"enter_frame,omitempty"`
	EnterMS    int64  `json:"enter_ms,omitempty"`
	EnterClass string `json:"enter_class,omitempty"`
}

// zoneShape is a zone with its bounding box, which rejects most points
// before the polygon test.
type zoneShape struct {
	name                   string
	pts                    []Point
	minX, minY, maxX, maxY float64
}

func newZoneShape(z Zone) zoneShape {
	s := zoneShape{name: z.Name, pts: z.Points, minX: math.Inf(1), minY: math.Inf(1), maxX: math.Inf(-1), maxY: math.Inf(-1)}
	for _, p := range z.Points {
		s.minX, s.maxX = math.Min(s.minX, p.X), math.Max(s.maxX, p.X)
		s.minY, s.maxY = math.Min(s.minY, p.Y), math.Max(s.maxY, p.Y)
	}
	return s
}

// contains reports whether p is in the zone, its boundary included.
func (z *zoneShape) contains(p Point) bool {
	if p.X < z.minX || p.X > z.maxX || p.Y < z.minY || p.Y > z.maxY {
		return false
	}
	return insidePolygon(z.pts, p)
}

// zoneChange is an entry or an exit found by step.
type zoneChange int

const (
	noChange zoneChange = iota
	entered
	exited
)

// step advances the state by whether the track's anchor is in the zone at
// frame f, and returns the visit an entry opens or an exit closes.
func (s *ZoneState) step(zone string, id int64, in bool, class string, f Frame, debounce int) (ZoneVisit, zoneChange) {
	if in {
		s.LastInFrame, s.LastInMS = f.Index, f.PTSms
	}
	if in == s.Inside {
		s.Run, s.RunFrame, s.RunMS = 0, 0, 0
		return ZoneVisit{}, noChange
	}
	if s.Run == 0 {
		s.RunFrame, s.RunMS = f.Index, f.PTSms
	}
	s.Run++
	if s.Run < debounce {
		return ZoneVisit{}, noChange
	}
	if !in {
		return s.close(zone, id), exited
	}
	// The visit begins with the run that made the track enter.
	s.Inside, s.Visited = true, true
	s.EnterFrame, s.EnterMS, s.EnterClass = s.RunFrame, s.RunMS, class
	s.Run, s.RunFrame, s.RunMS = 0, 0, 0
	return ZoneVisit{Zone: zone, TrackID: id, Class: class, EnterFrame: s.EnterFrame, EnterMS: s.EnterMS}, entered
}

// close ends the open visit at the last frame the track was seen inside,
// and returns it. An exit run ends a visit so, and so does the tracker
// dropping the track or the end of the video.
func (s *ZoneState) close(zone string, id int64) ZoneVisit {
	v := ZoneVisit{
		Zone: zone, TrackID: id, Class: s.EnterClass,
		EnterFrame: s.EnterFrame, EnterMS: s.EnterMS,
		ExitFrame: s.LastInFrame, ExitMS: s.LastInMS,
		DwellMS: s.LastInMS - s.EnterMS,
	}
	s.Inside = false
	s.Run, s.RunFrame, s.RunMS = 0, 0, 0
	s.EnterFrame, s.EnterMS, s.EnterClass = 0, 0, ""
	return v
}
