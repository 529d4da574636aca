package counting

import (
	"reflect"
	"testing"
)

// bay is the square [100, 300] × [100, 300].
var bay = Zone{Name: "bay", Points: []Point{{100, 100}, {300, 100}, {300, 300}, {100, 300}}}

// collect runs frames and gathers all events of each kind.
type collected struct {
	entries, exits []ZoneVisit
	occupancy      map[int][]Occupancy // by frame
}

func (c *collected) add(i int, e Events) {
	c.entries = append(c.entries, e.Entries...)
	c.exits = append(c.exits, e.Exits...)
	if c.occupancy == nil {
		c.occupancy = make(map[int][]Occupancy)
	}
	c.occupancy[i] = e.Occupancy
}

// stroll feeds one track's anchors from frame 0 on.
func stroll(c *Counter, pts ...Point) *collected {
	var out collected
	for i, p := range pts {
		out.add(i, c.Update(frame(i), []Observation{at(1, "person", p.X, p.Y)}, nil))
	}
	return &out
}

var (
	out1 = Point{50, 50}
	in1  = Point{200, 200}
)

func wantVisits(t *testing.T, what string, got, want []ZoneVisit) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func TestZoneVisit(t *testing.T) {
	c := mustNew(t, Config{Zones: []Zone{bay}})
	// Outside at 0-1, inside at 2-6, outside from 7.
	got := stroll(c, out1, out1, in1, in1, in1, in1, in1, out1, out1, out1)
	wantVisits(t, "entries", got.entries, []ZoneVisit{{Zone: "bay", TrackID: 1, Class: "person", EnterFrame: 2, EnterMS: 200}})
	wantVisits(t, "exits", got.exits, []ZoneVisit{{Zone: "bay", TrackID: 1, Class: "person", EnterFrame: 2, EnterMS: 200, ExitFrame: 6, ExitMS: 600, DwellMS: 400}})
	if c.ZonesVisited(1)[0] != "bay" {
		t.Errorf("ZonesVisited = %v", c.ZonesVisited(1))
	}
}

func TestZoneEventFrames(t *testing.T) {
	// The entry is reported when the debounce completes, the exit too.
	c := mustNew(t, Config{Zones: []Zone{bay}, Debounce: 3})
	var enteredAt, exitedAt []int
	for i, p := range []Point{out1, in1, in1, in1, in1, out1, out1, out1} {
		e := c.Update(frame(i), []Observation{at(1, "person", p.X, p.Y)}, nil)
		if len(e.Entries) > 0 {
			enteredAt = append(enteredAt, i)
		}
		if len(e.Exits) > 0 {
			exitedAt = append(exitedAt, i)
			if v := e.Exits[0]; v.EnterFrame != 1 || v.ExitFrame != 4 || v.DwellMS != 300 {
				t.Errorf("visit %+v, want frames 1 to 4, 300 ms", v)
			}
		}
	}
	if !reflect.DeepEqual(enteredAt, []int{3}) || !reflect.DeepEqual(exitedAt, []int{7}) {
		t.Errorf("entered at %v, exited at %v; want [3], [7]", enteredAt, exitedAt)
	}
}

func TestZoneJitterMakesNoVisit(t *testing.T) {
	c := mustNew(t, Config{Zones: []Zone{bay}})
	got := stroll(c, out1, in1, out1, in1, out1, out1)
	wantVisits(t, "entries", got.entries, nil)
	wantVisits(t, "exits", got.exits, nil)
	if v := c.ZonesVisited(1); v != nil {
		t.Errorf("ZonesVisited = %v, want none", v)
	}

	// Inside, one frame out, back in: one visit, not two.
	c = mustNew(t, Config{Zones: []Zone{bay}})
	got = stroll(c, in1, in1, out1, in1, in1, out1, out1)
	wantVisits(t, "entries", got.entries, []ZoneVisit{{Zone: "bay", TrackID: 1, Class: "person", EnterFrame: 0, EnterMS: 0}})
	wantVisits(t, "exits", got.exits, []ZoneVisit{{Zone: "bay", TrackID: 1, Class: "person", ExitFrame: 4, ExitMS: 400, DwellMS: 400}})
}

func TestZoneFirstSeenInside(t *testing.T) {
	c := mustNew(t, Config{Zones: []Zone{bay}, Debounce: 3})
	got := stroll(c, in1, in1)
	wantVisits(t, "entries after 2 frames", got.entries, nil)
	e := c.Update(frame(2), []Observation{at(1, "person", 200, 200)}, nil)
	wantVisits(t, "entries after 3 frames", e.Entries, []ZoneVisit{{Zone: "bay", TrackID: 1, Class: "person"}})
}

func TestZoneBoundaryIsInside(t *testing.T) {
	c := mustNew(t, Config{Zones: []Zone{bay}, Debounce: 1})
	got := stroll(c, Point{100, 200}, Point{300, 300})
	wantVisits(t, "entries", got.entries, []ZoneVisit{{Zone: "bay", TrackID: 1, Class: "person"}})
	wantVisits(t, "exits", got.exits, nil)
}

func TestZoneRemovedInside(t *testing.T) {
	c := mustNew(t, Config{Zones: []Zone{bay}})
	got := stroll(c, out1, in1, in1, in1)
	// Not seen at 4, removed at 5.
	got.add(4, c.Update(frame(4), nil, nil))
	got.add(5, c.Update(frame(5), nil, []int64{1}))
	wantVisits(t, "exits", got.exits, []ZoneVisit{{Zone: "bay", TrackID: 1, Class: "person", EnterFrame: 1, EnterMS: 100, ExitFrame: 3, ExitMS: 300, DwellMS: 200}})
	if got.occupancy[4] == nil || got.occupancy[5] != nil {
		t.Errorf("occupancy at 4 = %v (want the track), at 5 = %v (want none)", got.occupancy[4], got.occupancy[5])
	}
	if c.Tracks() != 0 || c.ZonesVisited(1) != nil {
		t.Errorf("removed track still held")
	}

	// Removed while on its way out: it exits at its last frame inside.
	c = mustNew(t, Config{Zones: []Zone{bay}, Debounce: 3})
	got = stroll(c, in1, in1, in1, in1, out1, out1)
	got.add(6, c.Update(frame(6), nil, []int64{1, 1, 99}))
	wantVisits(t, "exits", got.exits, []ZoneVisit{{Zone: "bay", TrackID: 1, Class: "person", ExitFrame: 3, ExitMS: 300, DwellMS: 300}})

	// Removed while not yet entered: nothing.
	c = mustNew(t, Config{Zones: []Zone{bay}, Debounce: 3})
	got = stroll(c, in1, in1)
	got.add(2, c.Update(frame(2), nil, []int64{1}))
	wantVisits(t, "entries", got.entries, nil)
	wantVisits(t, "exits", got.exits, nil)
}

func TestFinishClosesVisits(t *testing.T) {
	c := mustNew(t, Config{Zones: []Zone{bay, {Name: "all", Points: []Point{{0, 0}, {400, 0}, {400, 400}, {0, 400}}}}})
	for i := range 4 {
		c.Update(frame(i), []Observation{at(1, "person", 200, 200), at(2, "car", 50, 50)}, nil)
	}
	c.Update(frame(4), []Observation{at(2, "car", 50, 50)}, nil)
	e := c.Finish()
	wantVisits(t, "exits", e.Exits, []ZoneVisit{
		{Zone: "bay", TrackID: 1, Class: "person", ExitFrame: 3, ExitMS: 300, DwellMS: 300},
		{Zone: "all", TrackID: 1, Class: "person", ExitFrame: 3, ExitMS: 300, DwellMS: 300},
		{Zone: "all", TrackID: 2, Class: "car", ExitFrame: 4, ExitMS: 400, DwellMS: 400},
	})
	if e.Occupancy != nil || e.Crossings != nil || e.Entries != nil {
		t.Errorf("Finish reported more than exits: %+v", e)
	}
	if c.Tracks() != 0 {
		t.Errorf("tracks after Finish = %d", c.Tracks())
	}
	if e := c.Finish(); !e.Empty() {
		t.Errorf("second Finish: %+v", e)
	}
}

func TestOccupancy(t *testing.T) {
	left := Zone{Name: "left", Points: []Point{{0, 0}, {100, 0}, {100, 100}, {0, 100}}}
	right := Zone{Name: "right", Points: []Point{{200, 0}, {300, 0}, {300, 100}, {200, 100}}}
	c := mustNew(t, Config{Zones: []Zone{right, left}, Debounce: 1})
	frames := [][]Observation{
		{at(1, "person", 50, 50), at(2, "person", 60, 50), at(3, "car", 250, 50)},
		{at(1, "person", 50, 50), at(2, "person", 250, 50), at(3, "car", 250, 50), at(4, "car", 500, 500)},
		{at(1, "person", 50, 50)}, // 2 and 3 not seen: still inside
		{at(1, "person", 50, 50), at(2, "person", 500, 500)},
	}
	removed := [][]int64{nil, nil, nil, {3}}
	want := [][]Occupancy{
		{{"right", "car", 1}, {"left", "person", 2}},
		{{"right", "car", 1}, {"right", "person", 1}, {"left", "person", 1}},
		{{"right", "car", 1}, {"right", "person", 1}, {"left", "person", 1}},
		{{"left", "person", 1}},
	}
	sum := NewSummary(c.Config())
	for i := range frames {
		e := c.Update(frame(i), frames[i], removed[i])
		sum.Add(e)
		if !reflect.DeepEqual(e.Occupancy, want[i]) {
			t.Errorf("frame %d: occupancy %v, want %v", i, e.Occupancy, want[i])
		}
	}
	if want := map[string]int{"car": 1, "person": 1}; !reflect.DeepEqual(sum.Zones["right"].Max, want) {
		t.Errorf("right max = %v, want %v", sum.Zones["right"].Max, want)
	}
	if want := map[string]int{"person": 2}; !reflect.DeepEqual(sum.Zones["left"].Max, want) {
		t.Errorf("left max = %v, want %v", sum.Zones["left"].Max, want)
	}
}

func TestVisitKeepsEntryClass(t *testing.T) {
	c := mustNew(t, Config{Zones: []Zone{bay}, Debounce: 1})
	c.Update(frame(0), []Observation{at(1, "person", 200, 200)}, nil)
	e := c.Update(frame(1), []Observation{at(1, "bicycle", 200, 200)}, nil)
	if want := []Occupancy{{"bay", "person", 1}}; !reflect.DeepEqual(e.Occupancy, want) {
		t.Errorf("occupancy %v, want %v", e.Occupancy, want)
	}
	e = c.Update(frame(2), []Observation{at(1, "bicycle", 50, 50)}, nil)
	if len(e.Exits) != 1 || e.Exits[0].Class != "person" {
		t.Errorf("exits %+v, want one of class person", e.Exits)
	}
}

func TestZonesVisitedSorted(t *testing.T) {
	a := Zone{Name: "a", Points: []Point{{0, 0}, {100, 0}, {100, 100}, {0, 100}}}
	b := Zone{Name: "b", Points: []Point{{200, 0}, {300, 0}, {300, 100}, {200, 100}}}
	c := mustNew(t, Config{Zones: []Zone{b, a}, Debounce: 1})
	stroll(c, Point{250, 50}, Point{50, 50}, Point{500, 500})
	if got := c.ZonesVisited(1); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("ZonesVisited = %v, want [a b]", got)
	}
	if got := c.ZonesVisited(42); got != nil {
		t.Errorf("unknown track: %v", got)
	}
}
