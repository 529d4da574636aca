package counting

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Point is a position in image pixels: x to the right, y down. It is
// written in JSON as a two-element array [x, y].
type Point struct{ X, Y float64 }

func (p Point) String() string {
	return "(" + strconv.FormatFloat(p.X, 'g', -1, 64) + ", " + strconv.FormatFloat(p.Y, 'g', -1, 64) + ")"
}

// MarshalJSON writes p as [x, y].
func (p Point) MarshalJSON() ([]byte, error) {
	if !p.finite() {
		return nil, fmt.Errorf("point %v: coordinates are not finite", p)
	}
	return json.Marshal([2]float64{p.X, p.Y})
}

// UnmarshalJSON reads [x, y]. Unlike the usual convention, null is an
// error: a missing point must not pass as (0, 0).
func (p *Point) UnmarshalJSON(b []byte) error {
	// Pointers tell a null element, which would read as 0, from a number.
	var v []*float64
	if err := json.Unmarshal(b, &v); err != nil || len(v) != 2 || v[0] == nil || v[1] == nil {
		return fmt.Errorf("point: want [x, y] with two numbers, got %s", clip(b))
	}
	p.X, p.Y = *v[0], *v[1]
	return nil
}

// clip shortens raw JSON quoted in an error message.
func clip(b []byte) string {
	const limit = 40
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}

func (p Point) finite() bool {
	return !math.IsNaN(p.X) && !math.IsInf(p.X, 0) && !math.IsNaN(p.Y) && !math.IsInf(p.Y, 0)
}

// orient is twice the signed area of the triangle a, b, p:
// (b.X−a.X)·(p.Y−a.Y) − (b.Y−a.Y)·(p.X−a.X). With y down it is positive
// when p lies to the right of a→b as seen on screen: for a = (0, 100),
// b = (100, 100) and p = (50, 150), below the line in the image, it is
// 100·50 − 0·50 = 5000 > 0.
func orient(a, b, p Point) float64 {
	return (b.X-a.X)*(p.Y-a.Y) - (b.Y-a.Y)*(p.X-a.X)
}

// side is the sign of orient: +1, −1, or 0 for a point on the (infinite)
// line through a and b.
func side(a, b, p Point) int {
	return sign(orient(a, b, p))
}

func sign(v float64) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// inBox reports whether p lies in the bounding box of a and b; for a p
// collinear with a and b it means p is on the segment.
func inBox(a, b, p Point) bool {
	return math.Min(a.X, b.X) <= p.X && p.X <= math.Max(a.X, b.X) &&
		math.Min(a.Y, b.Y) <= p.Y && p.Y <= math.Max(a.Y, b.Y)
}

// onSegment reports whether p lies on the closed segment ab.
func onSegment(a, b, p Point) bool {
	return orient(a, b, p) == 0 && inBox(a, b, p)
}

// segmentsIntersect reports whether the closed segments p1p2 and q1q2 share
// at least one point: touching at an endpoint and overlapping collinearly
// both count.
func segmentsIntersect(p1, p2, q1, q2 Point) bool {
	d1 := side(q1, q2, p1)
	d2 := side(q1, q2, p2)
	d3 := side(p1, p2, q1)
	d4 := side(p1, p2, q2)
	if d1*d2 < 0 && d3*d4 < 0 {
		return true
	}
	// Otherwise they meet only where an endpoint of one lies on the other.
	return (d1 == 0 && inBox(q1, q2, p1)) ||
		(d2 == 0 && inBox(q1, q2, p2)) ||
		(d3 == 0 && inBox(p1, p2, q1)) ||
		(d4 == 0 && inBox(p1, p2, q2))
}

// onBoundary reports whether p lies on an edge of the closed polygon pts.
func onBoundary(pts []Point, p Point) bool {
	for i := range pts {
		if onSegment(pts[i], pts[(i+1)%len(pts)], p) {
			return true
		}
	}
	return false
}

// insidePolygon reports whether p is inside the polygon pts by the even-odd
// rule, a point on the boundary counting as inside. The crossing test uses
// the same orient as onBoundary, so the two agree on every point.
func insidePolygon(pts []Point, p Point) bool {
	if onBoundary(pts, p) {
		return true
	}
	in := false
	for i := range pts {
		a, b := pts[i], pts[(i+1)%len(pts)]
		if (a.Y > p.Y) == (b.Y > p.Y) {
			continue // the edge does not span the ray's height
		}
		// The horizontal ray from p to the right crosses the edge when p is
		// left of it: orient's sign, flipped for an edge going up.
		if (orient(a, b, p) > 0) == (b.Y > a.Y) {
			in = !in
		}
	}
	return in
}

// area2 is twice the signed area of the polygon pts (shoelace formula).
func area2(pts []Point) float64 {
	var s float64
	for i := range pts {
		a, b := pts[i], pts[(i+1)%len(pts)]
		s += a.X*b.Y - b.X*a.Y
	}
	return s
}

// selfIntersection finds two edges of the closed polygon pts that meet
// other than at the vertex they share, if any; edge i runs from point i to
// point i+1. It reports the first such pair in index order.
func selfIntersection(pts []Point) (i, j int, found bool) {
	n := len(pts)
	for i = 0; i < n; i++ {
		a, b := pts[i], pts[(i+1)%n]
		for j = i + 1; j < n; j++ {
			c, d := pts[j], pts[(j+1)%n]
			switch {
			case j == i+1:
				// Neighbours share b: they overlap only if the second folds
				// back along the first.
				if foldsBack(a, b, d) {
					return i, j, true
				}
			case i == 0 && j == n-1:
				// The last edge ends at a, where the first begins.
				if foldsBack(c, a, b) {
					return i, j, true
				}
			default:
				if segmentsIntersect(a, b, c, d) {
					return i, j, true
				}
			}
		}
	}
	return 0, 0, false
}

// foldsBack reports whether the edge from the shared vertex b to c runs back
// over the edge a→b: collinear and pointing against it.
func foldsBack(a, b, c Point) bool {
	if orient(a, b, c) != 0 {
		return false
	}
	return (b.X-a.X)*(c.X-b.X)+(b.Y-a.Y)*(c.Y-b.Y) < 0
}
