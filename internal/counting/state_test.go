package counting

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// sceneConfig has two crossing lines and two zones, one concave, over a
// 400×400 scene.
func sceneConfig(debounce int) Config {
	return Config{
		Lines: []Line{
			{Name: "across", From: Point{50, 200}, To: Point{350, 200}},
			{Name: "down", From: Point{200, 350}, To: Point{200, 50}},
		},
		Zones: []Zone{
			square("square", 100, 100, 150),
			{Name: "u", Points: []Point{{220, 220}, {260, 220}, {260, 300}, {300, 300}, {300, 220}, {390, 220}, {390, 390}, {220, 390}}},
		},
		Debounce: debounce,
	}
}

type sceneFrame struct {
	f       Frame
	obs     []Observation
	removed []int64
}

// scene is a seeded synthetic stream: tracks appear, wander on an integer
// grid (so anchors land exactly on lines and edges now and then), are
// sometimes missed, and are removed; some outlive the stream.
func scene(seed uint64, frames, tracks int) []sceneFrame {
	rng := rand.New(rand.NewPCG(seed, 0))
	type walker struct {
		id          int64
		class       string
		x, y        int
		birth, died int
	}
	ws := make([]*walker, tracks)
	for i := range ws {
		birth := rng.IntN(frames * 3 / 4)
		ws[i] = &walker{
			id:    int64(100 + i*7%31), // IDs not in birth order
			class: []string{"person", "car", "bicycle"}[rng.IntN(3)],
			x:     rng.IntN(401), y: rng.IntN(401),
			birth: birth, died: birth + 20 + rng.IntN(frames),
		}
	}
	out := make([]sceneFrame, frames)
	for i := range out {
		sf := sceneFrame{f: Frame{Index: 1000 + i, PTSms: 40_000 + int64(i)*40}}
		for _, w := range ws {
			switch {
			case i < w.birth || i > w.died:
				continue
			case i == w.died:
				sf.removed = append(sf.removed, w.id)
				continue
			}
			w.x = min(max(w.x+rng.IntN(41)-20, 0), 400)
			w.y = min(max(w.y+rng.IntN(41)-20, 0), 400)
			if rng.IntN(10) == 0 {
				continue // missed by the detector this frame
			}
			sf.obs = append(sf.obs, at(w.id, w.class, float64(w.x), float64(w.y)))
		}
		rng.Shuffle(len(sf.obs), func(a, b int) { sf.obs[a], sf.obs[b] = sf.obs[b], sf.obs[a] })
		out[i] = sf
	}
	return out
}

func runScene(c *Counter, frames []sceneFrame) []Events {
	var out []Events
	for _, sf := range frames {
		out = append(out, c.Update(sf.f, sf.obs, sf.removed))
	}
	return out
}

// checkpoint saves c's state as JSON and restores it, as the pipeline does
// between chunks.
func checkpoint(t *testing.T, cfg Config, c *Counter) *Counter {
	t.Helper()
	b, err := json.Marshal(c.State())
	if err != nil {
		t.Fatal(err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(r.State())
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(b) {
		t.Fatalf("state changed through a restore:\n%s\n%s", b, again)
	}
	return r
}

func TestCheckpointDeterminism(t *testing.T) {
	for _, debounce := range []int{1, 2, 3} {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("debounce%d/seed%d", debounce, seed), func(t *testing.T) {
				cfg := sceneConfig(debounce)
				frames := scene(seed, 200, 30)
				c := mustNew(t, cfg)
				want := append(runScene(c, frames), c.Finish())

				var crossings, entries, exits, occupied int
				for _, e := range want {
					crossings += len(e.Crossings)
					entries += len(e.Entries)
					exits += len(e.Exits)
					occupied += len(e.Occupancy)
				}
				t.Logf("%d crossings, %d visits, %d occupancy entries", crossings, exits, occupied)
				if crossings < 10 || entries < 10 || exits != entries || occupied == 0 {
					t.Fatalf("scene too quiet to test: %d crossings, %d entries, %d exits, %d occupancies", crossings, entries, exits, occupied)
				}

				for _, k := range []int{0, 1, 2, 17, 50, 99, 100, 150, 199, 200} {
					c := mustNew(t, cfg)
					got := runScene(c, frames[:k])
					c = checkpoint(t, cfg, c)
					got = append(got, runScene(c, frames[k:])...)
					got = append(got, c.Finish())
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("split at %d: events differ from the uninterrupted run (first at frame %d)", k, firstDiff(got, want))
					}
				}

				// A checkpoint after every frame.
				c = mustNew(t, cfg)
				var got []Events
				midway := 0 // snapshots taken in the middle of a debounce
				for _, sf := range frames {
					got = append(got, c.Update(sf.f, sf.obs, sf.removed))
					c = checkpoint(t, cfg, c)
					if pending(c.State()) {
						midway++
					}
				}
				if debounce > 1 && midway == 0 {
					t.Error("no snapshot was taken in the middle of a debounce")
				}
				got = append(got, c.Finish())
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("checkpoint every frame: events differ (first at frame %d)", firstDiff(got, want))
				}
			})
		}
	}
}

// pending reports whether some track of s is part way through a debounce.
func pending(s State) bool {
	for _, ts := range s.Tracks {
		for _, l := range ts.Lines {
			if l.Pending > 0 {
				return true
			}
		}
		for _, z := range ts.Zones {
			if z.Run > 0 {
				return true
			}
		}
	}
	return false
}

func firstDiff(a, b []Events) int {
	for i := range min(len(a), len(b)) {
		if !reflect.DeepEqual(a[i], b[i]) {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestStateIsACopy(t *testing.T) {
	cfg := sceneConfig(2)
	c := mustNew(t, cfg)
	frames := scene(9, 40, 10)
	runScene(c, frames)
	before, _ := json.Marshal(c.State())
	s := c.State()
	for i := range s.Tracks {
		s.Tracks[i].Lines[0].Side = 7
		s.Tracks[i].Zones[0].Inside = true
	}
	s.Config.Zones[0].Points[0] = Point{1, 1}
	after, _ := json.Marshal(c.State())
	if string(before) != string(after) {
		t.Error("changing a State changed the counter")
	}

	// Nor does a restored counter share the snapshot it came from.
	s = c.State()
	r, err := Restore(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	s.Tracks[0].Lines[0].Side = 7
	if got, _ := json.Marshal(r.State()); string(got) != string(before) {
		t.Error("changing a State changed the counter restored from it")
	}
}

func TestRestoreRejects(t *testing.T) {
	cfg := sceneConfig(3)
	c := mustNew(t, cfg)
	runScene(c, scene(4, 60, 10))
	good := c.State()
	if len(good.Tracks) == 0 {
		t.Fatal("no tracks to damage")
	}
	// clone deep-copies good through JSON, so cases can damage it freely.
	clone := func() State {
		b, _ := json.Marshal(good)
		var s State
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	moved := sceneConfig(3)
	moved.Lines[1].To = Point{201, 50}
	renamed := sceneConfig(3)
	renamed.Zones[1].Name = "v"
	reshaped := sceneConfig(3)
	reshaped.Zones[0] = square("square", 100, 100, 151)
	for _, tc := range []struct {
		name  string
		cfg   Config
		state func(*State)
		want  string
	}{
		{"bad config", Config{Debounce: -2}, nil, "debounce_frames -2"},
		{"version", cfg, func(s *State) { s.Version = 2 }, "state version 2, want 1"},
		{"zero state", cfg, func(s *State) { *s = State{} }, "state version 0"},
		{"other debounce", sceneConfig(2), nil, "debounce_frames 3 in the state, 2 here"},
		{"line moved", moved, nil, `line 2 is "down" from (200, 350) to (200, 50) in the state, "down" from (200, 350) to (201, 50) here`},
		{"line dropped", Config{Lines: cfg.Lines[:1], Zones: cfg.Zones, Debounce: 3}, nil, "2 lines in the state, 1 here"},
		{"zone renamed", renamed, nil, `zone 2 is "u" in the state, "v" here`},
		{"zone reshaped", reshaped, nil, `zone "square" has other points in the state`},
		{"duplicate track", cfg, func(s *State) { s.Tracks = append(s.Tracks, s.Tracks[0]) }, "appears twice"},
		{"missing line state", cfg, func(s *State) { s.Tracks[0].Lines = s.Tracks[0].Lines[:1] }, "1 line states for 2 lines"},
		{"missing zone state", cfg, func(s *State) { s.Tracks[0].Zones = nil }, "0 zone states for 2 zones"},
		{"bad side", cfg, func(s *State) { s.Tracks[0].Lines[0].Side = 2 }, `line "across": side 2`},
		{"pending too long", cfg, func(s *State) { s.Tracks[0].Lines[1] = LineState{Side: 1, Pending: 3} }, `line "down": pending 3 out of range [0, 3)`},
		{"pending without a side", cfg, func(s *State) { s.Tracks[0].Lines[1] = LineState{Pending: 1} }, "before the side is known"},
		{"run too long", cfg, func(s *State) { s.Tracks[0].Zones[0].Run = 5 }, `zone "square": run 5 out of range [0, 3)`},
		{"inside, never entered", cfg, func(s *State) { s.Tracks[0].Zones[1] = ZoneState{Inside: true} }, "inside but never entered"},
	} {
		s := clone()
		if tc.state != nil {
			tc.state(&s)
		}
		_, err := Restore(tc.cfg, s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// The defaults are compared, not how they were written.
	implicit := sceneConfig(0)
	c = mustNew(t, implicit)
	runScene(c, scene(4, 30, 10))
	if _, err := Restore(sceneConfig(2), c.State()); err != nil {
		t.Errorf("debounce 0 against 2: %v", err)
	}
}
