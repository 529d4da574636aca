package track

import (
	"math"
	"testing"

	"github.com/sightline-video/sightline/internal/detection"
)

// smoothScene is objects on a grid, each circling its cell with a period
// that divides frames, so the scene loops without a jump.
func smoothScene(frames, objects int) [][]detection.Detection {
	classes := []string{"person", "car"}
	out := make([][]detection.Detection, frames)
	for f := range frames {
		dets := make([]detection.Detection, objects)
		for i := range dets {
			phase := 2 * math.Pi * (float64(f)/float64(frames) + float64(i)/float64(objects))
			cx := 100 + float64(i%10)*180 + 40*math.Cos(phase)
			cy := 100 + float64(i/10)*200 + 40*math.Sin(phase)
			dets[i] = sceneDet(classes[i%2], i%2, 0.8, cx, cy, 60, 120)
		}
		out[f] = dets
	}
	return out
}

func BenchmarkUpdate50(b *testing.B) {
	frames := smoothScene(200, 50)
	tr := newTracker(b, DefaultConfig())
	for _, dets := range frames {
		tr.Update(dets)
	}
	if n := len(tr.Active()); n != 50 {
		b.Fatalf("%d active tracks after warm-up, want 50", n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		tr.Update(frames[i%len(frames)])
	}
	b.StopTimer()
	if n := len(tr.Alive()); n != 50 {
		b.Fatalf("%d tracks alive, want 50", n)
	}
}
