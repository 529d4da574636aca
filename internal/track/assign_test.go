package track

import (
	"math"
	"math/rand"
	"testing"
)

// bruteAssign is the minimum total cost over all assignments of the smaller
// side of an n×m matrix.
func bruteAssign(cost []float64, n, m int) float64 {
	best := math.Inf(1)
	usedCol := make([]bool, m)
	usedRow := make([]bool, n)
	var rec func(k int, sum float64)
	if n <= m {
		rec = func(i int, sum float64) {
			if i == n {
				best = min(best, sum)
				return
			}
			for j := range m {
				if !usedCol[j] {
					usedCol[j] = true
					rec(i+1, sum+cost[i*m+j])
					usedCol[j] = false
				}
			}
		}
	} else {
		rec = func(j int, sum float64) {
			if j == m {
				best = min(best, sum)
				return
			}
			for i := range n {
				if !usedRow[i] {
					usedRow[i] = true
					rec(j+1, sum+cost[i*m+j])
					usedRow[i] = false
				}
			}
		}
	}
	rec(0, 0)
	return best
}

func TestHungarianMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var h hungarian // reused across sizes on purpose
	for c := range 3000 {
		n, m := 1+rng.Intn(7), 1+rng.Intn(7)
		cost := make([]float64, n*m)
		for i := range cost {
			if c%3 == 0 {
				cost[i] = float64(rng.Intn(4)) // many ties
			} else {
				cost[i] = rng.Float64()*2 - 1
			}
		}
		rowCol := make([]int, n)
		h.solve(cost, n, m, rowCol)
		sum, assigned := 0.0, 0
		seen := make([]bool, m)
		for i, j := range rowCol {
			if j < 0 {
				continue
			}
			if j >= m || seen[j] {
				t.Fatalf("case %d: row %d got column %d twice or out of range: %v", c, i, j, rowCol)
			}
			seen[j] = true
			sum += cost[i*m+j]
			assigned++
		}
		if assigned != min(n, m) {
			t.Fatalf("case %d: %d×%d assigned %d rows, want %d", c, n, m, assigned, min(n, m))
		}
		if want := bruteAssign(cost, n, m); math.Abs(sum-want) > 1e-9 {
			t.Fatalf("case %d: %d×%d cost %v, brute force %v\n%v", c, n, m, sum, want, cost)
		}
	}
}

// bruteMatch is the best Σ (IoU − thr + tieGain) over matchings of eligible
// pairs.
func bruteMatch(iou []float64, nr, nc int, thr float64) float64 {
	best := 0.0
	used := make([]bool, nc)
	var rec func(r int, sum float64)
	rec = func(r int, sum float64) {
		if r == nr {
			best = max(best, sum)
			return
		}
		rec(r+1, sum) // row r unmatched
		for c := range nc {
			if v := iou[r*nc+c]; !used[c] && v >= thr {
				used[c] = true
				rec(r+1, sum+v-thr+tieGain)
				used[c] = false
			}
		}
	}
	rec(0, 0)
	return best
}

func TestMatchMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	var m matcher
	thrs := []float64{0.2, 0.3, 0.5, 1}
	for c := range 3000 {
		nr, nc := 1+rng.Intn(7), 1+rng.Intn(7)
		thr := thrs[rng.Intn(len(thrs))]
		iou := m.prepare(nr, nc)
		for i := range iou {
			switch rng.Intn(3) {
			case 0:
				iou[i] = 0 // most pairs do not overlap
			case 1:
				iou[i] = float64(rng.Intn(11)) / 10 // ties, and pairs at the threshold
			default:
				iou[i] = rng.Float64()
			}
		}
		want := bruteMatch(iou, nr, nc, thr)
		pairs := m.match(nr, nc, thr)
		got := 0.0
		rows, cols := make([]bool, nr), make([]bool, nc)
		for _, p := range pairs {
			if rows[p.row] || cols[p.col] {
				t.Fatalf("case %d: %v uses a row or column twice", c, pairs)
			}
			rows[p.row], cols[p.col] = true, true
			v := iou[p.row*nc+p.col]
			if v < thr {
				t.Fatalf("case %d: pair %v has IoU %v below %v", c, p, v, thr)
			}
			got += v - thr + tieGain
		}
		if math.Abs(got-want) > 1e-11 {
			t.Fatalf("case %d: %d×%d thr %v gain %v, brute force %v\n%v\n%v", c, nr, nc, thr, got, want, iou, pairs)
		}
	}
}

func TestMatchPrefersOneGoodPairToTwoPoor(t *testing.T) {
	// Track 0 fits detection 0 well and detection 1 barely; track 1 fits
	// only detection 0, barely. Pairing crosswise would match both tracks.
	var m matcher
	copy(m.prepare(2, 2), []float64{
		0.9, 0.25,
		0.25, 0,
	})
	got := m.match(2, 2, 0.2)
	if len(got) != 1 || got[0] != (pair{0, 0}) {
		t.Fatalf("got %v, want [{0 0}]", got)
	}
}

func TestMatchTiesFollowIndexOrder(t *testing.T) {
	var m matcher
	for range 3 {
		copy(m.prepare(2, 3), []float64{
			0.5, 0.5, 0.5,
			0.5, 0.5, 0.5,
		})
		got := m.match(2, 3, 0.3)
		if len(got) != 2 || got[0] != (pair{0, 0}) || got[1] != (pair{1, 1}) {
			t.Fatalf("got %v, want [{0 0} {1 1}]", got)
		}
	}
}

func TestMatchAtThresholdMatches(t *testing.T) {
	var m matcher
	copy(m.prepare(1, 1), []float64{0.3})
	if got := m.match(1, 1, 0.3); len(got) != 1 {
		t.Fatalf("a pair at exactly the threshold did not match: %v", got)
	}
	copy(m.prepare(2, 2), []float64{0.3, 0.3, 0.3, 0.3})
	if got := m.match(2, 2, 0.3); len(got) != 2 {
		t.Fatalf("pairs at exactly the threshold did not all match: %v", got)
	}
}
