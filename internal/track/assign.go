package track

import (
	"math"
	"slices"
)

// tieGain is added to the gain of every eligible pair so that a pair at
// exactly the IoU threshold still beats leaving both sides unmatched. It is
// far below any IoU difference that matters and far above rounding.
const tieGain = 1e-9

// pair is one match: a row (track) and a column (detection) of a matcher's
// IoU matrix.
type pair struct{ row, col int }

// matcher matches tracks to detections by IoU. Its buffers are reused from
// frame to frame.
type matcher struct {
	iou []float64 // rows×cols, row-major, filled by the caller

	compRow, compCol []int // component of each row and column, -1 before
	rows, cols       []int // members of the component being solved
	sub              []float64
	rowCol           []int
	hung             hungarian
	pairs            []pair
}

// prepare sizes the IoU matrix for rows×cols and returns it.
func (m *matcher) prepare(rows, cols int) []float64 {
	m.iou = grow(m.iou, rows*cols)
	return m.iou
}

// match pairs rows with columns of the prepared IoU matrix. A pair is
// eligible when its IoU is at least thr; among matchings of eligible pairs
// it returns one maximising Σ (IoU − thr), as ByteTrack's cost-limited
// assignment does. Maximising the number of matches instead would trade one
// good match for two poor ones.
//
// Rows and columns fall into independent groups, the connected components
// of the eligible pairs; each is solved on its own, which turns the usual
// case of well-separated objects into many 1×1 problems. The result depends
// only on the matrix: the pairs come in order of each component's first
// row.
func (m *matcher) match(nr, nc int, thr float64) []pair {
	m.pairs = m.pairs[:0]
	if nr == 0 || nc == 0 {
		return m.pairs
	}
	iou := m.iou[:nr*nc]
	m.compRow = fill(m.compRow, nr, -1)
	m.compCol = fill(m.compCol, nc, -1)
	for r0 := range nr {
		if m.compRow[r0] >= 0 {
			continue
		}
		m.compRow[r0] = r0
		rows, cols := append(m.rows[:0], r0), m.cols[:0]
		// Breadth first, using rows and cols as the queues.
		for ri, ci := 0, 0; ri < len(rows) || ci < len(cols); {
			for ; ri < len(rows); ri++ {
				line := iou[rows[ri]*nc : rows[ri]*nc+nc]
				for c, v := range line {
					if m.compCol[c] < 0 && v >= thr {
						m.compCol[c] = r0
						cols = append(cols, c)
					}
				}
			}
			for ; ci < len(cols); ci++ {
				c := cols[ci]
				for r := range nr {
					if m.compRow[r] < 0 && iou[r*nc+c] >= thr {
						m.compRow[r] = r0
						rows = append(rows, r)
					}
				}
			}
		}
		m.rows, m.cols = rows, cols
		switch {
		case len(cols) == 0:
			continue
		case len(rows) == 1 && len(cols) == 1:
			m.pairs = append(m.pairs, pair{rows[0], cols[0]})
			continue
		}
		slices.Sort(rows)
		slices.Sort(cols)
		// Cost = −gain for eligible pairs, 0 (same as unmatched) otherwise,
		// so a full assignment of the smaller side is an optimal matching.
		nsr, nsc := len(rows), len(cols)
		m.sub = grow(m.sub, nsr*nsc)
		for i, r := range rows {
			for j, c := range cols {
				cost := 0.0
				if v := iou[r*nc+c]; v >= thr {
					cost = thr - v - tieGain
				}
				m.sub[i*nsc+j] = cost
			}
		}
		m.rowCol = grow(m.rowCol, nsr)
		m.hung.solve(m.sub[:nsr*nsc], nsr, nsc, m.rowCol)
		for i, j := range m.rowCol[:nsr] {
			if j >= 0 && iou[rows[i]*nc+cols[j]] >= thr {
				m.pairs = append(m.pairs, pair{rows[i], cols[j]})
			}
		}
	}
	return m.pairs
}

// hungarian solves rectangular assignment problems with the Hungarian
// method in its shortest-augmenting-path form (O(n²m) for n ≤ m rows). Its
// buffers are reused.
type hungarian struct {
	u, v, minv []float64
	p, way     []int
	used       []bool
	t          []float64
	colRow     []int
}

// solve finds a minimum-cost assignment for the n×m row-major cost matrix,
// which must hold finite values: every row is assigned a distinct column
// when n ≤ m, every column a distinct row otherwise. rowCol[i] receives the
// column of row i, or -1. Ties go to the lowest column index scanned first,
// so equal inputs give equal outputs.
func (h *hungarian) solve(cost []float64, n, m int, rowCol []int) {
	if n <= m {
		h.solveWide(cost, n, m, rowCol)
		return
	}
	h.t = grow(h.t, n*m)
	for i := range n {
		for j := range m {
			h.t[j*n+i] = cost[i*m+j]
		}
	}
	h.colRow = grow(h.colRow, m)
	h.solveWide(h.t[:n*m], m, n, h.colRow)
	for i := range n {
		rowCol[i] = -1
	}
	for j, i := range h.colRow[:m] {
		rowCol[i] = j
	}
}

// solveWide is solve for n ≤ m. Rows and columns are 1-based inside, with
// column 0 standing for the row being inserted; u and v are the dual
// potentials and p[j] the row assigned to column j.
func (h *hungarian) solveWide(cost []float64, n, m int, rowCol []int) {
	h.u = fill(h.u, n+1, 0)
	h.v = fill(h.v, m+1, 0)
	h.p = fill(h.p, m+1, 0)
	h.way = fill(h.way, m+1, 0)
	h.minv = grow(h.minv, m+1)
	h.used = grow(h.used, m+1)
	u, v, p, way, minv, used := h.u, h.v, h.p, h.way, h.minv, h.used
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := range m + 1 {
			minv[j] = math.Inf(1)
			used[j] = false
		}
		for {
			used[j0] = true
			i0 := p[j0]
			row := cost[(i0-1)*m : i0*m]
			delta, j1 := math.Inf(1), 0
			for j := 1; j <= m; j++ {
				if used[j] {
					continue
				}
				if cur := row[j-1] - u[i0] - v[j]; cur < minv[j] {
					minv[j] = cur
					way[j] = j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := range m + 1 {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		// Flip the augmenting path back to column 0.
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	for i := range n {
		rowCol[i] = -1
	}
	for j := 1; j <= m; j++ {
		if p[j] != 0 {
			rowCol[p[j]-1] = j - 1
		}
	}
}

// grow returns s with length n, reusing its array when large enough. The
// contents are unspecified.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// fill returns s with length n, every element set to x.
func fill[T any](s []T, n int, x T) []T {
	s = grow(s, n)
	for i := range s {
		s[i] = x
	}
	return s
}
