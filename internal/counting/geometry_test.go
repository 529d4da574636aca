package counting

import "testing"

func TestSideYDown(t *testing.T) {
	a, b := Point{0, 100}, Point{100, 100}
	for _, tc := range []struct {
		p    Point
		want int
	}{
		{Point{50, 150}, 1},  // below the line in the image: right of A→B on screen
		{Point{50, 50}, -1},  // above
		{Point{150, 100}, 0}, // on the infinite line, past B
		{Point{0, 100}, 0},
	} {
		if got := side(a, b, tc.p); got != tc.want {
			t.Errorf("side(%v) = %d, want %d", tc.p, got, tc.want)
		}
	}
	// Reversing the line swaps the sides.
	if got := side(b, a, Point{50, 150}); got != -1 {
		t.Errorf("side on B→A = %d, want -1", got)
	}
}

func TestSegmentsIntersect(t *testing.T) {
	for _, tc := range []struct {
		name           string
		p1, p2, q1, q2 Point
		want           bool
	}{
		{"cross", Point{0, 0}, Point{10, 10}, Point{0, 10}, Point{10, 0}, true},
		{"apart", Point{0, 0}, Point{1, 1}, Point{5, 0}, Point{6, 1}, false},
		{"would cross past q's end", Point{0, 0}, Point{10, 10}, Point{6, 0}, Point{9, 3}, false},
		{"T: endpoint on the other", Point{5, 0}, Point{5, 5}, Point{0, 5}, Point{10, 5}, true},
		{"shared endpoint", Point{0, 0}, Point{5, 5}, Point{5, 5}, Point{10, 0}, true},
		{"parallel", Point{0, 0}, Point{10, 0}, Point{0, 1}, Point{10, 1}, false},
		{"collinear overlapping", Point{0, 0}, Point{10, 0}, Point{5, 0}, Point{15, 0}, true},
		{"collinear containing", Point{0, 0}, Point{10, 0}, Point{2, 0}, Point{3, 0}, true},
		{"collinear touching", Point{0, 0}, Point{10, 0}, Point{10, 0}, Point{20, 0}, true},
		{"collinear apart", Point{0, 0}, Point{10, 0}, Point{11, 0}, Point{20, 0}, false},
		{"degenerate on", Point{3, 0}, Point{3, 0}, Point{0, 0}, Point{10, 0}, true},
		{"degenerate off", Point{3, 1}, Point{3, 1}, Point{0, 0}, Point{10, 0}, false},
	} {
		if got := segmentsIntersect(tc.p1, tc.p2, tc.q1, tc.q2); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		// The answer does not depend on the order of segments or ends.
		if got := segmentsIntersect(tc.q2, tc.q1, tc.p2, tc.p1); got != tc.want {
			t.Errorf("%s, swapped: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestInsidePolygon(t *testing.T) {
	square := []Point{{0, 0}, {10, 0}, {10, 10}, {0, 10}}
	// A U open at the top: the notch x in (4, 6), y in [0, 6) is outside.
	u := []Point{{0, 0}, {4, 0}, {4, 6}, {6, 6}, {6, 0}, {10, 0}, {10, 10}, {0, 10}}
	diamond := []Point{{5, 0}, {10, 5}, {5, 10}, {0, 5}}
	for _, tc := range []struct {
		name string
		poly []Point
		p    Point
		want bool
	}{
		{"square inside", square, Point{5, 5}, true},
		{"square outside", square, Point{15, 5}, false},
		{"square outside above", square, Point{5, -1}, false},
		{"square edge", square, Point{10, 5}, true},
		{"square vertex", square, Point{0, 0}, true},
		{"square top edge", square, Point{5, 0}, true},
		{"U left arm", u, Point{2, 3}, true},
		{"U right arm", u, Point{8, 3}, true},
		{"U notch", u, Point{5, 3}, false},
		{"U notch edge", u, Point{4, 3}, true},
		{"U notch floor", u, Point{5, 6}, true},
		{"U below notch", u, Point{5, 8}, true},
		{"U level with notch floor, outside", u, Point{12, 6}, false},
		{"diamond centre", diamond, Point{5, 5}, true},
		{"diamond level with vertex, left", diamond, Point{-1, 5}, false},
		{"diamond level with vertex, right", diamond, Point{11, 5}, false},
		{"diamond corner box", diamond, Point{1, 1}, false},
	} {
		if got := insidePolygon(tc.poly, tc.p); got != tc.want {
			t.Errorf("%s: insidePolygon(%v) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}

func TestSelfIntersection(t *testing.T) {
	for _, tc := range []struct {
		name string
		pts  []Point
		want bool
	}{
		{"triangle", []Point{{0, 0}, {10, 0}, {0, 10}}, false},
		{"square", []Point{{0, 0}, {10, 0}, {10, 10}, {0, 10}}, false},
		{"concave", []Point{{0, 0}, {4, 0}, {4, 6}, {6, 6}, {6, 0}, {10, 0}, {10, 10}, {0, 10}}, false},
		{"collinear vertex", []Point{{0, 0}, {5, 0}, {10, 0}, {10, 10}, {0, 10}}, false},
		{"bow tie", []Point{{0, 0}, {10, 10}, {10, 0}, {0, 10}}, true},
		{"spike folding back", []Point{{0, 0}, {10, 0}, {5, 0}, {5, 10}}, true},
		{"collinear at the first vertex", []Point{{5, 0}, {10, 0}, {10, 10}, {0, 0}}, false},
		{"closing edge folding back", []Point{{5, 0}, {8, 0}, {8, 10}, {10, 0}}, true},
		{"flat triangle", []Point{{0, 0}, {10, 0}, {5, 0}}, true},
		{"touching itself at a vertex", []Point{{0, 0}, {10, 0}, {5, 5}, {10, 10}, {0, 10}, {5, 5}}, true},
		{"vertex on another edge", []Point{{0, 0}, {10, 0}, {10, 10}, {5, 0}, {0, 10}}, true},
	} {
		_, _, got := selfIntersection(tc.pts)
		if got != tc.want {
			t.Errorf("%s: selfIntersection = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFoldsBack(t *testing.T) {
	a, b := Point{0, 0}, Point{10, 0}
	if !foldsBack(a, b, Point{5, 0}) {
		t.Error("turning back along the edge: want true")
	}
	if foldsBack(a, b, Point{15, 0}) {
		t.Error("going on straight: want false")
	}
	if foldsBack(a, b, Point{5, 1}) {
		t.Error("turning: want false")
	}
}
