package track

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sightline-video/sightline/internal/detection"
)

// det is a detection of a w×h box centred on (cx, cy).
func det(class string, score float32, cx, cy, w, h float64) detection.Detection {
	return detection.Detection{
		Class: class,
		Score: score,
		Box: [4]float32{
			float32(cx - w/2), float32(cy - h/2), float32(cx + w/2), float32(cy + h/2),
		},
	}
}

func newTracker(t testing.TB, cfg Config) *Tracker {
	t.Helper()
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// expectIDs runs one frame and checks the IDs it returns.
func expectIDs(t *testing.T, tr *Tracker, frame int, dets []detection.Detection, want ...int64) Result {
	t.Helper()
	res := tr.Update(dets)
	if !slices.Equal(res.IDs, want) {
		t.Fatalf("frame %d: IDs %v, want %v", frame, res.IDs, want)
	}
	return res
}

func TestCrossingObjectsKeepIDs(t *testing.T) {
	// A moves down and to the right, B up and to the right; their boxes
	// coincide around frame 30. Detection order flips every other frame.
	tr := newTracker(t, DefaultConfig())
	const n = 60
	for f := range n {
		x := 100 + 5*float64(f)
		jitter := float64(f%3) - 1
		a := det("person", 0.9, x+jitter, 100+4*float64(f), 40, 80)
		b := det("person", 0.8, x-jitter, 100+4*float64(n-1-f), 40, 80)
		if f%2 == 0 {
			expectIDs(t, tr, f, []detection.Detection{a, b}, 1, 2)
		} else {
			expectIDs(t, tr, f, []detection.Detection{b, a}, 2, 1)
		}
	}
	if got := tr.Active(); len(got) != 2 || got[0].ID != 1 || got[1].ID != 2 {
		t.Fatalf("active %+v, want tracks 1 and 2", got)
	}
}

func TestOccludedObjectKeepsID(t *testing.T) {
	tr := newTracker(t, DefaultConfig())
	for f := range 25 {
		d := []detection.Detection{det("car", 0.9, 100+6*float64(f), 300, 100, 50)}
		if f >= 10 && f < 15 { // hidden behind something for five frames
			expectIDs(t, tr, f, nil)
			if len(tr.Active()) != 0 || len(tr.Alive()) != 1 {
				t.Fatalf("frame %d: active %v, alive %v; want none and one", f, tr.Active(), tr.Alive())
			}
			continue
		}
		expectIDs(t, tr, f, d, 1)
		if a := tr.Active(); len(a) != 1 || a[0].Box != d[0].Box || a[0].Score != d[0].Score || a[0].LastFrame != f {
			t.Fatalf("frame %d: active %+v, want the detection %+v", f, a, d[0])
		}
	}
	if a := tr.Active()[0]; a.FirstFrame != 0 || a.Class != "car" {
		t.Fatalf("track %+v, want class car from frame 0", a)
	}
}

func TestLostTrackRemovedAfterMaxLost(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxLost = 5
	obj := []detection.Detection{det("dog", 0.9, 200, 200, 60, 40)}

	// Missing exactly MaxLost frames: the track comes back.
	tr := newTracker(t, cfg)
	for f := range 10 {
		expectIDs(t, tr, f, obj, 1)
	}
	for f := 10; f < 15; f++ {
		if res := expectIDs(t, tr, f, nil); res.Removed != nil {
			t.Fatalf("frame %d: removed %v", f, res.Removed)
		}
	}
	expectIDs(t, tr, 15, obj, 1)

	// Missing one frame more: removed, and the object returns as a new
	// track that must be confirmed again.
	tr = newTracker(t, cfg)
	for f := range 10 {
		expectIDs(t, tr, f, obj, 1)
	}
	for f := 10; f < 16; f++ {
		res := expectIDs(t, tr, f, nil)
		if want := []int64(nil); f == 15 {
			want = []int64{1}
			if !slices.Equal(res.Removed, want) {
				t.Fatalf("frame %d: removed %v, want %v", f, res.Removed, want)
			}
		} else if res.Removed != nil {
			t.Fatalf("frame %d: removed %v, want none", f, res.Removed)
		}
	}
	if len(tr.Alive()) != 0 {
		t.Fatalf("alive %v after removal", tr.Alive())
	}
	expectIDs(t, tr, 16, obj, 0)
	expectIDs(t, tr, 17, obj, 2)
}

func TestClassesNeverMatch(t *testing.T) {
	tr := newTracker(t, DefaultConfig())
	expectIDs(t, tr, 0, []detection.Detection{det("person", 0.9, 100, 100, 50, 100)}, 1)
	// The same box, now called a bicycle: a new tentative track, confirmed
	// on its second frame; the person is lost meanwhile.
	car := []detection.Detection{det("bicycle", 0.9, 100, 100, 50, 100)}
	expectIDs(t, tr, 1, car, 0)
	for f := 2; f < 6; f++ {
		expectIDs(t, tr, f, car, 2)
	}

	// Two classes on one box, from the first frame.
	tr = newTracker(t, DefaultConfig())
	for f := range 10 {
		both := []detection.Detection{
			det("person", 0.9, 100+float64(f), 100, 50, 100),
			det("bicycle", 0.8, 100+float64(f), 100, 50, 100),
		}
		if f%2 == 1 {
			both[0], both[1] = both[1], both[0]
			expectIDs(t, tr, f, both, 2, 1)
		} else {
			expectIDs(t, tr, f, both, 1, 2)
		}
	}
	for _, a := range tr.Active() {
		if want := map[int64]string{1: "person", 2: "bicycle"}[a.ID]; a.Class != want {
			t.Fatalf("track %d has class %q, want %q", a.ID, a.Class, want)
		}
	}
}

func TestLowScoresKeepTracksButNeverStartThem(t *testing.T) {
	tr := newTracker(t, DefaultConfig())
	f := 0
	step := func(dets []detection.Detection, want ...int64) {
		t.Helper()
		expectIDs(t, tr, f, dets, want...)
		f++
	}
	ghost := det("person", 0.3, 800, 400, 40, 80) // never above HighScore
	for range 5 {
		step([]detection.Detection{det("person", 0.9, 100+3*float64(f), 100, 40, 80), ghost}, 1, 0)
	}
	// The object's confidence drops into the low band: the second pass
	// keeps it.
	for range 10 {
		step([]detection.Detection{ghost, det("person", 0.3, 100+3*float64(f), 100, 40, 80)}, 0, 1)
	}
	if a := tr.Active(); len(a) != 1 || a[0].Score != 0.3 {
		t.Fatalf("active %+v, want track 1 at score 0.3", a)
	}
	// Below LowScore it is ignored, and the track is lost.
	step([]detection.Detection{det("person", 0.05, 100+3*float64(f), 100, 40, 80)}, 0)
	if len(tr.Active()) != 0 {
		t.Fatalf("active %v, want none", tr.Active())
	}
	// A low score does not bring a lost track back.
	step([]detection.Detection{det("person", 0.3, 100+3*float64(f), 100, 40, 80)}, 0)
	// A high one does.
	step([]detection.Detection{det("person", 0.9, 100+3*float64(f), 100, 40, 80)}, 1)
	// The ghost never used an ID: the next object gets 2.
	step([]detection.Detection{det("cat", 0.9, 500, 500, 40, 40)}, 0)
	step([]detection.Detection{det("cat", 0.9, 500, 500, 40, 40)}, 2)
}

func TestFalsePositiveNeverGetsID(t *testing.T) {
	tr := newTracker(t, DefaultConfig())
	for f := range 12 {
		dets := []detection.Detection{det("person", 0.9, 100, 100, 40, 80)}
		want := []int64{1}
		switch {
		case f == 3: // a one-frame false positive
			dets = append(dets, det("person", 0.95, 600, 300, 40, 80))
			want = append(want, 0)
		case f == 6: // a real object appears
			dets = append(dets, det("person", 0.9, 900, 300, 40, 80))
			want = append(want, 0)
		case f > 6:
			dets = append(dets, det("person", 0.9, 900, 300, 40, 80))
			want = append(want, 2)
		}
		expectIDs(t, tr, f, dets, want...)
	}
}

func TestFirstFrameConfirmsAtOnce(t *testing.T) {
	tr := newTracker(t, DefaultConfig())
	expectIDs(t, tr, 0, []detection.Detection{
		det("person", 0.9, 100, 100, 40, 80),
		det("person", 0.55, 300, 100, 40, 80), // high, but below NewTrackScore
		det("person", 0.7, 500, 100, 40, 80),
	}, 1, 0, 2)
	if tr.Frames() != 1 {
		t.Fatalf("frames %d, want 1", tr.Frames())
	}
}

func TestConfirmHits(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ConfirmHits = 3
	tr := newTracker(t, cfg)
	expectIDs(t, tr, 0, nil)
	d := []detection.Detection{det("person", 0.9, 100, 100, 40, 80)}
	expectIDs(t, tr, 1, d, 0)
	expectIDs(t, tr, 2, d, 0)
	expectIDs(t, tr, 3, d, 1)

	cfg.ConfirmHits = 1
	tr = newTracker(t, cfg)
	expectIDs(t, tr, 0, nil)
	expectIDs(t, tr, 1, d, 1)
}

func TestInvalidDetectionsAreIgnored(t *testing.T) {
	tr := newTracker(t, DefaultConfig())
	nan, posInf := float32(math.NaN()), float32(math.Inf(1))
	expectIDs(t, tr, 0, []detection.Detection{
		{Class: "a", Score: 0.9, Box: [4]float32{10, 10, 10, 20}},  // zero width
		{Class: "a", Score: 0.9, Box: [4]float32{10, 10, 20, 5}},   // inverted
		{Class: "a", Score: 0.9, Box: [4]float32{nan, 10, 20, 20}}, // NaN
		{Class: "a", Score: 0.9, Box: [4]float32{0, 0, posInf, 20}},
		{Class: "a", Score: nan, Box: [4]float32{0, 0, 20, 20}},
		{Class: "a", Score: posInf, Box: [4]float32{0, 0, 20, 20}},
		{Class: "a", Score: 0.9, Box: [4]float32{100, 100, 120, 120}},
	}, 0, 0, 0, 0, 0, 0, 1)
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, c := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.HighScore = 1.5 }, "high_score 1.5"},
		{func(c *Config) { c.LowScore = -0.1 }, "low_score -0.1"},
		{func(c *Config) { c.NewTrackScore = 2 }, "new_track_score 2"},
		{func(c *Config) { c.LowScore = 0.7 }, "low_score 0.7 above high_score 0.5"},
		{func(c *Config) { c.MatchIoU = 0 }, "match_iou 0"},
		{func(c *Config) { c.LowMatchIoU = 1.2 }, "low_match_iou 1.2"},
		{func(c *Config) { c.TentativeMatchIoU = -1 }, "tentative_match_iou -1"},
		{func(c *Config) { c.ConfirmHits = 0 }, "confirm_hits 0"},
		{func(c *Config) { c.MaxLost = -3 }, "max_lost -3"},
	} {
		cfg := DefaultConfig()
		c.edit(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", cfg, err, c.want)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
}

func TestConfigWithDefaults(t *testing.T) {
	if got := (Config{}).WithDefaults(); got != DefaultConfig() {
		t.Errorf("zero config with defaults = %+v", got)
	}
	c := Config{MaxLost: 60, LowScore: 0.2}.WithDefaults()
	want := DefaultConfig()
	want.MaxLost, want.LowScore = 60, 0.2
	if c != want {
		t.Errorf("with defaults = %+v, want %+v", c, want)
	}
}
