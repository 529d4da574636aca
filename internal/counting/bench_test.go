package counting

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkUpdate50 is one frame of 50 tracks against 4 lines and 4 zones.
func BenchmarkUpdate50(b *testing.B) {
	cfg := Config{
		Lines: []Line{
			{Name: "l1", From: Point{100, 540}, To: Point{1800, 540}},
			{Name: "l2", From: Point{960, 50}, To: Point{960, 1000}},
			{Name: "l3", From: Point{200, 200}, To: Point{1700, 900}},
			{Name: "l4", From: Point{200, 900}, To: Point{1700, 200}},
		},
		Zones: []Zone{
			square("z1", 100, 100, 600),
			square("z2", 1100, 100, 600),
			square("z3", 100, 500, 600),
			{Name: "z4", Points: []Point{{900, 500}, {1300, 450}, {1700, 700}, {1500, 1000}, {1200, 800}, {1000, 1000}}},
		},
	}
	c := mustNew(b, cfg)
	// A cycle of frames in which every track walks back and forth, so that
	// the counter keeps crossing and entering.
	const period = 64
	rng := rand.New(rand.NewPCG(1, 2))
	frames := make([][]Observation, period)
	type walker struct{ x, y, dx, dy float64 }
	ws := make([]walker, 50)
	for i := range ws {
		ws[i] = walker{rng.Float64() * 1920, rng.Float64() * 1080, rng.Float64()*30 - 15, rng.Float64()*30 - 15}
	}
	for f := range frames {
		for i, w := range ws {
			step := float64(f)
			if f >= period/2 {
				step = float64(period - f)
			}
			frames[f] = append(frames[f], at(int64(i), "person", w.x+w.dx*step, w.y+w.dy*step))
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Update(Frame{Index: i, PTSms: int64(i) * 40}, frames[i%period], nil)
		i++
	}
}
