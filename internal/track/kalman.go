package track

import (
	"fmt"
	"math"
)

// The filter follows ByteTrack's (and DeepSORT's): the state is the box
// centre, aspect ratio (width/height) and height with their velocities,
//
//	x = (cx, cy, a, h, vcx, vcy, va, vh),
//
// one frame per step, constant velocity. Noise standard deviations for
// position and velocity are proportional to the box height, so that a large
// near object may move more pixels per frame than a small far one. The
// aspect ratio gets small fixed noise: objects rarely change shape quickly.
// Everything is float64, and the covariance is kept exactly symmetric, so
// that a snapshot written to JSON and read back resumes bit for bit.
const (
	stdPosition = 1.0 / 20  // position noise per pixel of height
	stdVelocity = 1.0 / 160 // velocity noise per pixel of height
	stdAspect   = 1e-2      // process noise of the aspect ratio
	stdAspectV  = 1e-5      // process noise of its velocity
	stdAspectM  = 1e-1      // measurement noise of the aspect ratio

	// minScale floors the height that scales the noise, so that a degenerate
	// prediction (height at or below zero) cannot make the innovation
	// covariance singular. Real boxes are taller than a pixel, where it
	// changes nothing.
	minScale = 1.0
)

// kalman is one track's filter.
type kalman struct {
	mean [8]float64
	cov  [8][8]float64
}

// measurement converts a box (x1, y1, x2, y2) to (cx, cy, a, h). The box
// must have positive width and height (see validBox).
func measurement(b [4]float64) [4]float64 {
	w, h := b[2]-b[0], b[3]-b[1]
	return [4]float64{(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, w / h, h}
}

// noiseScale is the height the noise is proportional to.
func noiseScale(h float64) float64 {
	return max(math.Abs(h), minScale)
}

// newKalman starts a filter at measurement z with zero velocity. The
// velocity variance is large so the first matches set it.
func newKalman(z [4]float64) kalman {
	var k kalman
	copy(k.mean[:4], z[:])
	h := noiseScale(z[3])
	std := [8]float64{
		2 * stdPosition * h, 2 * stdPosition * h, stdAspect, 2 * stdPosition * h,
		10 * stdVelocity * h, 10 * stdVelocity * h, stdAspectV, 10 * stdVelocity * h,
	}
	for i, s := range std {
		k.cov[i][i] = s * s
	}
	return k
}

// predict advances the filter one frame: x = F x, P = F P Fᵀ + Q, with
// F = [[I, I], [0, I]].
func (k *kalman) predict() {
	h := noiseScale(k.mean[3])
	sp, sv := stdPosition*h, stdVelocity*h
	q := [8]float64{
		sp * sp, sp * sp, stdAspect * stdAspect, sp * sp,
		sv * sv, sv * sv, stdAspectV * stdAspectV, sv * sv,
	}
	for i := range 4 {
		k.mean[i] += k.mean[i+4]
	}
	// Row i of F picks rows i and i+4 of P when i < 4, row i alone
	// otherwise. Only the upper triangle is computed and then mirrored: the
	// sums for (i, j) and (j, i) would otherwise round differently.
	p := k.cov
	for i := range 8 {
		for j := i; j < 8; j++ {
			v := p[i][j]
			switch {
			case i < 4 && j < 4:
				v += p[i][j+4] + p[i+4][j] + p[i+4][j+4]
			case i < 4:
				v += p[i+4][j]
			}
			if i == j {
				v += q[i]
			}
			k.cov[i][j] = v
			k.cov[j][i] = v
		}
	}
}

// update corrects the filter with measurement z, H = [I 0]:
//
//	S = H P Hᵀ + R, K = P Hᵀ S⁻¹, x += K (z − H x), P −= K S Kᵀ = K (P Hᵀ)ᵀ.
//
// It reports false, leaving the filter unchanged, when S is not positive
// definite, which only rounding on a degenerate filter can cause.
func (k *kalman) update(z [4]float64) bool {
	h := noiseScale(k.mean[3])
	sp := stdPosition * h
	r := [4]float64{sp * sp, sp * sp, stdAspectM * stdAspectM, sp * sp}
	var s [4][4]float64
	for i := range 4 {
		for j := range 4 {
			s[i][j] = k.cov[i][j]
		}
		s[i][i] += r[i]
	}
	l, ok := cholesky(s)
	if !ok {
		return false
	}
	// K = P Hᵀ S⁻¹, with S⁻¹ from four solves rather than eight for the
	// rows of K.
	var inv [4][4]float64
	for j := range 4 {
		var e [4]float64
		e[j] = 1
		inv[j] = cholSolve(l, e) // column j of S⁻¹
	}
	var gain [8][4]float64
	for i := range 8 {
		p := &k.cov[i]
		for j := range 4 {
			gain[i][j] = p[0]*inv[j][0] + p[1]*inv[j][1] + p[2]*inv[j][2] + p[3]*inv[j][3]
		}
	}
	var y [4]float64
	for i := range 4 {
		y[i] = z[i] - k.mean[i]
	}
	for i := range 8 {
		k.mean[i] += gain[i][0]*y[0] + gain[i][1]*y[1] + gain[i][2]*y[2] + gain[i][3]*y[3]
	}
	p := k.cov
	for i := range 8 {
		for j := i; j < 8; j++ {
			v := p[i][j] - (gain[i][0]*p[j][0] + gain[i][1]*p[j][1] + gain[i][2]*p[j][2] + gain[i][3]*p[j][3])
			k.cov[i][j] = v
			k.cov[j][i] = v
		}
	}
	return true
}

// box returns the filter's box (x1, y1, x2, y2).
func (k *kalman) box() [4]float64 {
	h := k.mean[3]
	w := k.mean[2] * h
	cx, cy := k.mean[0], k.mean[1]
	return [4]float64{cx - w/2, cy - h/2, cx + w/2, cy + h/2}
}

// cholesky factors a symmetric 4×4 matrix as L Lᵀ, failing unless it is
// positive definite.
func cholesky(a [4][4]float64) (l [4][4]float64, ok bool) {
	for j := range 4 {
		d := a[j][j]
		for k := range j {
			d -= l[j][k] * l[j][k]
		}
		if !(d > 0) || math.IsInf(d, 0) {
			return l, false
		}
		l[j][j] = math.Sqrt(d)
		for i := j + 1; i < 4; i++ {
			v := a[i][j]
			for k := range j {
				v -= l[i][k] * l[j][k]
			}
			l[i][j] = v / l[j][j]
		}
	}
	return l, true
}

// cholSolve solves L Lᵀ x = b.
func cholSolve(l [4][4]float64, b [4]float64) [4]float64 {
	var y, x [4]float64
	for i := range 4 {
		v := b[i]
		for k := range i {
			v -= l[i][k] * y[k]
		}
		y[i] = v / l[i][i]
	}
	for i := 3; i >= 0; i-- {
		v := y[i]
		for k := i + 1; k < 4; k++ {
			v -= l[k][i] * x[k]
		}
		x[i] = v / l[i][i]
	}
	return x
}

// check reports whether the filter is usable: finite, with a symmetric
// covariance and positive variances. The tracker restarts a filter that
// fails it, so every snapshot it writes passes.
func (k *kalman) check() error {
	for i, v := range k.mean {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("mean[%d] is %v", i, v)
		}
	}
	for i := range 8 {
		for j := range 8 {
			v := k.cov[i][j]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("cov[%d][%d] is %v", i, j, v)
			}
			if v != k.cov[j][i] {
				return fmt.Errorf("cov is not symmetric at [%d][%d]", i, j)
			}
		}
		if !(k.cov[i][i] > 0) {
			return fmt.Errorf("cov[%d][%d] = %v is not a positive variance", i, i, k.cov[i][i])
		}
	}
	return nil
}
