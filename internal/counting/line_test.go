package counting

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// door is a horizontal line drawn left to right at y = 100, x in [0, 200].
// Walking down the image crosses it from the negative side to the positive:
// "in".
var door = Line{Name: "door", From: Point{0, 100}, To: Point{200, 100}}

func mustNew(t testing.TB, cfg Config) *Counter {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// at is an observation whose box has its anchor at (x, y).
func at(id int64, class string, x, y float64) Observation {
	return Observation{TrackID: id, Class: class, Box: [4]float32{float32(x - 10), float32(y - 40), float32(x + 10), float32(y)}}
}

// frame is frame i of a 10 fps stream.
func frame(i int) Frame { return Frame{Index: i, PTSms: int64(i) * 100} }

// walk feeds one track's anchors, one per frame from frame 0, and returns
// the crossings.
func walk(c *Counter, class string, pts ...Point) []Crossing {
	var out []Crossing
	for i, p := range pts {
		out = append(out, c.Update(frame(i), []Observation{at(1, class, p.X, p.Y)}, nil).Crossings...)
	}
	return out
}

func wantCrossings(t *testing.T, got, want []Crossing) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("crossings:\n got %+v\nwant %+v", got, want)
	}
}

func TestLineWalkDownCountsIn(t *testing.T) {
	c := mustNew(t, Config{Lines: []Line{door}})
	got := walk(c, "person", Point{100, 50}, Point{100, 80}, Point{100, 120}, Point{100, 150}, Point{100, 180})
	// Across at frame 2, the second frame below completes the debounce.
	wantCrossings(t, got, []Crossing{{Line: "door", Direction: In, TrackID: 1, Class: "person", Frame: 3, PTSms: 300, CrossedFrame: 2}})
}

func TestLineWalkBackCountsOut(t *testing.T) {
	c := mustNew(t, Config{Lines: []Line{door}})
	got := walk(c, "person", Point{100, 50}, Point{100, 150}, Point{100, 150}, Point{100, 60}, Point{100, 50})
	wantCrossings(t, got, []Crossing{
		{Line: "door", Direction: In, TrackID: 1, Class: "person", Frame: 2, PTSms: 200, CrossedFrame: 1},
		{Line: "door", Direction: Out, TrackID: 1, Class: "person", Frame: 4, PTSms: 400, CrossedFrame: 3},
	})
}

func TestLineSameDirectionCountsOnce(t *testing.T) {
	c := mustNew(t, Config{Lines: []Line{door}, Debounce: 1})
	got := walk(c, "person", Point{100, 50}, Point{100, 150}, Point{100, 50}, Point{100, 150}, Point{100, 50})
	wantCrossings(t, got, []Crossing{
		{Line: "door", Direction: In, TrackID: 1, Class: "person", Frame: 1, PTSms: 100, CrossedFrame: 1},
		{Line: "door", Direction: Out, TrackID: 1, Class: "person", Frame: 2, PTSms: 200, CrossedFrame: 2},
	})
}

func TestLineJitterCountsNothing(t *testing.T) {
	c := mustNew(t, Config{Lines: []Line{door}}) // debounce 2
	got := walk(c, "person", Point{100, 90}, Point{100, 110}, Point{100, 90}, Point{100, 110}, Point{100, 95}, Point{100, 100}, Point{100, 90})
	wantCrossings(t, got, nil)
}

func TestLineOutsideSegmentCountsNothing(t *testing.T) {
	c := mustNew(t, Config{Lines: []Line{door}, Debounce: 1})
	// Down past the end of the segment: the side changes silently...
	got := walk(c, "person", Point{300, 50}, Point{300, 150}, Point{250, 150},
		// ...so coming back up through the segment counts "out".
		Point{100, 150}, Point{100, 50})
	wantCrossings(t, got, []Crossing{{Line: "door", Direction: Out, TrackID: 1, Class: "person", Frame: 4, PTSms: 400, CrossedFrame: 4}})
}

func TestLineMoveAcrossSegmentEnd(t *testing.T) {
	c := mustNew(t, Config{Lines: []Line{door}, Debounce: 1})
	// The move from (190,90) to (210,110) meets the line at (200,100), the
	// segment's end: endpoints count.
	got := walk(c, "person", Point{190, 90}, Point{210, 110})
	wantCrossings(t, got, []Crossing{{Line: "door", Direction: In, TrackID: 1, Class: "person", Frame: 1, PTSms: 100, CrossedFrame: 1}})
}

func TestLinePointOnTheLine(t *testing.T) {
	// Touching the segment, then moving on below it, counts even though
	// the straight move from above to below would pass beside it.
	c := mustNew(t, Config{Lines: []Line{door}, Debounce: 1})
	got := walk(c, "person", Point{220, 80}, Point{190, 100}, Point{220, 120})
	wantCrossings(t, got, []Crossing{{Line: "door", Direction: In, TrackID: 1, Class: "person", Frame: 2, PTSms: 200, CrossedFrame: 2}})

	// Going round the segment's end through the line past it does not,
	// though the straight move from above to below would meet the segment.
	c = mustNew(t, Config{Lines: []Line{door}, Debounce: 1})
	got = walk(c, "person", Point{190, 80}, Point{220, 100}, Point{190, 120})
	wantCrossings(t, got, nil)

	// On the line during a debounce run: it stays on the new side.
	c = mustNew(t, Config{Lines: []Line{door}, Debounce: 3})
	got = walk(c, "person", Point{100, 80}, Point{100, 120}, Point{100, 100}, Point{100, 120})
	wantCrossings(t, got, []Crossing{{Line: "door", Direction: In, TrackID: 1, Class: "person", Frame: 3, PTSms: 300, CrossedFrame: 1}})
}

func TestLineDebounceOneCountsAtOnce(t *testing.T) {
	c := mustNew(t, Config{Lines: []Line{door}, Debounce: 1})
	got := walk(c, "person", Point{100, 50}, Point{100, 150})
	wantCrossings(t, got, []Crossing{{Line: "door", Direction: In, TrackID: 1, Class: "person", Frame: 1, PTSms: 100, CrossedFrame: 1}})
}

func TestLineDebounceCountsObservedFrames(t *testing.T) {
	c := mustNew(t, Config{Lines: []Line{door}, Debounce: 3})
	var got []Crossing
	for _, s := range []struct {
		i int
		y float64
	}{{0, 50}, {1, 150}, {4, 150}, {9, 150}} { // frames between not observed
		got = append(got, c.Update(frame(s.i), []Observation{at(1, "person", 100, s.y)}, nil).Crossings...)
	}
	wantCrossings(t, got, []Crossing{{Line: "door", Direction: In, TrackID: 1, Class: "person", Frame: 9, PTSms: 900, CrossedFrame: 1}})
}

func TestLineFirstObservationCountsNothing(t *testing.T) {
	c := mustNew(t, Config{Lines: []Line{door}, Debounce: 1})
	if got := walk(c, "person", Point{100, 150}, Point{100, 160}); got != nil {
		t.Errorf("first seen below: got %+v", got)
	}
	// Seen first on the line, then below: the side is set by the first
	// point off the line.
	c = mustNew(t, Config{Lines: []Line{door}, Debounce: 1})
	if got := walk(c, "person", Point{100, 100}, Point{100, 150}); got != nil {
		t.Errorf("first seen on the line: got %+v", got)
	}
}

func TestLineClassesCountedSeparately(t *testing.T) {
	c := mustNew(t, Config{Lines: []Line{door}})
	sum := NewSummary(c.Config())
	var got []Crossing
	for i, y := range []float64{50, 150, 160} {
		// Given in reverse ID order: events come out by track ID.
		ev := c.Update(frame(i), []Observation{at(7, "car", 150, y), at(3, "person", 50, y)}, nil)
		got = append(got, ev.Crossings...)
		sum.Add(ev)
	}
	wantCrossings(t, got, []Crossing{
		{Line: "door", Direction: In, TrackID: 3, Class: "person", Frame: 2, PTSms: 200, CrossedFrame: 1},
		{Line: "door", Direction: In, TrackID: 7, Class: "car", Frame: 2, PTSms: 200, CrossedFrame: 1},
	})
	if want := map[string]int{"car": 1, "person": 1}; !reflect.DeepEqual(sum.Lines["door"].In, want) {
		t.Errorf("summary in = %v, want %v", sum.Lines["door"].In, want)
	}
}

func TestLineDiagonalFollowsFormula(t *testing.T) {
	// A line going up and to the right: (0,200) → (200,0). Its positive
	// side, right of A→B on screen, is below right.
	l := Line{Name: "diag", From: Point{0, 200}, To: Point{200, 0}}
	if s := side(l.From, l.To, Point{150, 150}); s != 1 {
		t.Fatalf("side of (150,150) = %d, want 1", s)
	}
	c := mustNew(t, Config{Lines: []Line{l}, Debounce: 1})
	got := walk(c, "person", Point{50, 50}, Point{150, 150})
	wantCrossings(t, got, []Crossing{{Line: "diag", Direction: In, TrackID: 1, Class: "person", Frame: 1, PTSms: 100, CrossedFrame: 1}})
}

func TestUpdateInputOrderAndDuplicates(t *testing.T) {
	cfg := Config{Lines: []Line{door, {Name: "gate", From: Point{0, 200}, To: Point{200, 200}}}, Debounce: 1}
	a, b := mustNew(t, cfg), mustNew(t, cfg)
	for i, y := range []float64{50, 150, 250} {
		obs := []Observation{at(2, "person", 100, y), at(1, "person", 80, y), at(3, "car", 120, y), at(0, "car", 60, min(y+100, 250))}
		rev := []Observation{obs[3], obs[2], obs[1], obs[0]}
		// A repeated ID counts by its first observation; a box that is not
		// finite is skipped.
		rev = append(rev, at(1, "person", 80, 0), Observation{TrackID: 4, Box: [4]float32{0, 0, float32(math.Inf(1)), 10}})
		ea, eb := a.Update(frame(i), obs, nil), b.Update(frame(i), rev, nil)
		if !reflect.DeepEqual(ea, eb) {
			t.Fatalf("frame %d: events depend on input order:\n%+v\n%+v", i, ea, eb)
		}
		if i == 1 {
			// By line first, then by ID: track 0 crossed the second line.
			var order []string
			for _, x := range ea.Crossings {
				order = append(order, fmt.Sprintf("%s/%d", x.Line, x.TrackID))
			}
			if got, want := strings.Join(order, " "), "door/1 door/2 door/3 gate/0"; got != want {
				t.Errorf("order = %s, want %s", got, want)
			}
		}
	}
	if b.Tracks() != 4 {
		t.Errorf("tracks = %d, want 4 (the one with a bad box skipped)", b.Tracks())
	}
}
