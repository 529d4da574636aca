package detector

import (
	"math"
	"testing"
)

func TestGridRows(t *testing.T) {
	if got := gridRows(416); got != 3549 {
		t.Errorf("gridRows(416) = %d, want 3549", got)
	}
	if got := gridRows(640); got != 8400 {
		t.Errorf("gridRows(640) = %d, want 8400", got)
	}
}

func TestDecodeYOLOX(t *testing.T) {
	const size, classes = 64, 3
	cols := 5 + classes
	out := make([]float32, gridRows(size)*cols)
	// Stride-16 level starts after the 8x8 stride-8 grid; cell (gx=1, gy=2).
	row := 8*8 + 2*4 + 1
	p := out[row*cols : (row+1)*cols]
	copy(p, []float32{0.5, 0.25, float32(math.Log(2)), 0, 0.9, 0.1, 0.8, 0.2})
	// A row below the threshold on a stride-32 cell.
	q := out[(8*8+4*4)*cols:]
	copy(q, []float32{0, 0, 0, 0, 0.5, 0.5, 0, 0})

	got, err := decodeYOLOX(nil, out, cols, size, 0.5, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d candidates, want 1: %+v", len(got), got)
	}
	c := got[0]
	// cx = (0.5+1)*16 = 24, cy = (0.25+2)*16 = 36, w = 2*16 = 32, h = 16;
	// divided by the letterbox scale 0.5.
	want := [4]float32{16, 56, 80, 88}
	if c.class != 1 || abs32(c.score-0.72) > 1e-6 {
		t.Errorf("class %d score %v, want class 1 score 0.72", c.class, c.score)
	}
	for i := range want {
		if abs32(c.box[i]-want[i]) > 1e-4 {
			t.Errorf("box %v, want %v", c.box, want)
			break
		}
	}
	if _, err := decodeYOLOX(nil, out[:len(out)-1], cols, size, 1, 0.3); err == nil {
		t.Error("wrong output length: want an error")
	}
}

func TestNMSPerClass(t *testing.T) {
	cands := []candidate{
		{class: 0, score: 0.6, box: [4]float32{1, 1, 11, 11}},   // overlaps the 0.9 box: dropped
		{class: 0, score: 0.9, box: [4]float32{0, 0, 10, 10}},   // kept
		{class: 2, score: 0.7, box: [4]float32{0, 0, 10, 10}},   // other class: kept
		{class: 0, score: 0.5, box: [4]float32{20, 20, 30, 30}}, // no overlap: kept
		{class: 0, score: 0.4, box: [4]float32{5, 0, 15, 10}},   // IoU 1/3 with the 0.9 box: kept
	}
	got := nmsPerClass(cands, 0.45)
	wantScores := []float32{0.9, 0.7, 0.5, 0.4}
	if len(got) != len(wantScores) {
		t.Fatalf("kept %+v, want scores %v", got, wantScores)
	}
	for i, w := range wantScores {
		if got[i].score != w {
			t.Errorf("kept[%d].score = %v, want %v", i, got[i].score, w)
		}
	}
}

func TestIoU(t *testing.T) {
	a := [4]float32{0, 0, 10, 10}
	for _, c := range []struct {
		b    [4]float32
		want float32
	}{
		{a, 1},
		{[4]float32{5, 0, 15, 10}, 1.0 / 3},
		{[4]float32{10, 10, 20, 20}, 0},
		{[4]float32{20, 20, 30, 30}, 0},
	} {
		if got := iou(a, c.b); abs32(got-c.want) > 1e-6 {
			t.Errorf("iou(%v, %v) = %v, want %v", a, c.b, got, c.want)
		}
	}
}
