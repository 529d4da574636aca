package track

import (
	"math"
	"math/rand"
	"testing"
)

func boxAt(cx, cy, w, h float64) [4]float64 {
	return [4]float64{cx - w/2, cy - h/2, cx + w/2, cy + h/2}
}

func TestKalmanConstantVelocity(t *testing.T) {
	const vx, vy = 4.0, -3.0
	truth := func(f int) [4]float64 { return boxAt(300+vx*float64(f), 400+vy*float64(f), 50, 100) }
	k := newKalman(measurement(truth(0)))
	// The velocity starts at zero with a wide variance; eight frames bring
	// the one-step prediction within a pixel (half a pixel, in fact).
	for f := 1; f <= 8; f++ {
		k.predict()
		if !k.update(measurement(truth(f))) {
			t.Fatalf("update %d failed", f)
		}
	}
	k.predict()
	got, want := k.box(), truth(9)
	for i := range got {
		if d := math.Abs(got[i] - want[i]); d > 1 {
			t.Fatalf("prediction %v is %v px from %v at coordinate %d", got, d, want, i)
		}
	}
}

func TestKalmanMeasurementRoundTrip(t *testing.T) {
	b := [4]float64{10, 20, 70, 140}
	k := newKalman(measurement(b))
	if got := k.box(); got != b {
		t.Fatalf("box %v, want %v", got, b)
	}
}

func TestKalmanStaysHealthy(t *testing.T) {
	// A jittery object, sometimes unseen, must keep a symmetric covariance
	// with positive variances: Restore checks both.
	rng := rand.New(rand.NewSource(3))
	k := newKalman(measurement(boxAt(100, 100, 30, 60)))
	cx, cy := 100.0, 100.0
	for f := range 500 {
		cx += 2 + rng.NormFloat64()*3
		cy += rng.NormFloat64() * 3
		k.predict()
		if rng.Intn(5) > 0 {
			if !k.update(measurement(boxAt(cx, cy, 30+rng.Float64()*4, 60+rng.Float64()*8))) {
				t.Fatalf("frame %d: update failed", f)
			}
		}
		if err := k.check(); err != nil {
			t.Fatalf("frame %d: %v", f, err)
		}
	}
}

func TestIoU(t *testing.T) {
	a := [4]float64{0, 0, 10, 10}
	for _, c := range []struct {
		b    [4]float64
		want float64
	}{
		{a, 1},
		{[4]float64{5, 0, 15, 10}, 50.0 / 150},
		{[4]float64{10, 0, 20, 10}, 0}, // touching
		{[4]float64{20, 20, 30, 30}, 0},
		{[4]float64{10, 10, 0, 0}, 0}, // inverted
		{[4]float64{math.NaN(), 0, 10, 10}, 0},
	} {
		if got := iou(a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("iou(%v, %v) = %v, want %v", a, c.b, got, c.want)
		}
	}
}
