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

	spec := Spec{InputSize: size}
	got, err := decodeYOLOX(nil, []tensor{{shape: []int{1, gridRows(size), cols}, data: out}}, spec, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d candidates, want 1: %+v", len(got), got)
	}
	c := got[0]
	// cx = (0.5+1)*16 = 24, cy = (0.25+2)*16 = 36, w = 2*16 = 32, h = 16,
	// in input pixels.
	want := [4]float32{8, 28, 40, 44}
	if c.class != 1 || abs32(c.score-0.72) > 1e-6 {
		t.Errorf("class %d score %v, want class 1 score 0.72", c.class, c.score)
	}
	for i := range want {
		if abs32(c.box[i]-want[i]) > 1e-4 {
			t.Errorf("box %v, want %v", c.box, want)
			break
		}
	}
	if _, err := decodeYOLOX(nil, []tensor{{shape: []int{1, gridRows(size) - 1, cols}, data: out}}, spec, 0.3); err == nil {
		t.Error("wrong row count: want an error")
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

func TestDecodeYOLOv5(t *testing.T) {
	// Two rows of [cx cy w h obj c0 c1]: one above the threshold.
	out := []float32{
		100, 50, 40, 20, 0.9, 0.2, 0.8,
		10, 10, 5, 5, 0.2, 0.9, 0.1,
	}
	got, err := decodeYOLOv5(nil, []tensor{{shape: []int{1, 2, 7}, data: out}}, Spec{}, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].class != 1 || abs32(got[0].score-0.72) > 1e-6 || got[0].box != [4]float32{80, 40, 120, 60} {
		t.Fatalf("got %+v, want class 1 score 0.72 box [80 40 120 60]", got)
	}
	if _, err := decodeYOLOv5(nil, []tensor{{shape: []int{1, 2, 5}, data: out[:10]}}, Spec{}, 0.3); err == nil {
		t.Error("5 columns: want an error")
	}
}

func TestDecodeYOLOv8(t *testing.T) {
	// Channels first [1, 4+2, 8]: anchors 0 and 2 pass, the rest do not.
	chans := [][]float32{
		{100, 10, 300, 0, 0, 0, 0, 0},    // cx
		{50, 10, 60, 0, 0, 0, 0, 0},      // cy
		{40, 4, 20, 0, 0, 0, 0, 0},       // w
		{20, 4, 10, 0, 0, 0, 0, 0},       // h
		{0.1, 0.2, 0.6, 0, 0, 0, 0, 0},   // class 0
		{0.9, 0.1, 0.5, 0, 0, 0, 0, 0.3}, // class 1
	}
	var out []float32
	for _, c := range chans {
		out = append(out, c...)
	}
	want := []candidate{
		{class: 1, score: 0.9, box: [4]float32{80, 40, 120, 60}},
		{class: 0, score: 0.6, box: [4]float32{290, 55, 310, 65}},
	}
	got, err := decodeYOLOv8(nil, []tensor{{shape: []int{1, 6, 8}, data: out}}, Spec{}, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("channels first: got %+v, want %+v", got, want)
	}
	// The same anchors transposed to [1, N, 4+C], with N > 4+C.
	const n = 8
	tr := make([]float32, n*6)
	for i := range n {
		for c := range 6 {
			tr[i*6+c] = chans[c][i]
		}
	}
	got, err = decodeYOLOv8(nil, []tensor{{shape: []int{1, n, 6}, data: tr}}, Spec{}, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("transposed: got %+v, want %+v", got, want)
	}
}

func TestDecodePicoDet(t *testing.T) {
	// A 64x64 input: strides 8, 16, 32, 64 give 8x8, 4x4, 2x2 and 1x1 grids.
	s := Spec{InputSize: 64, RegMax: 7}
	var outs []tensor
	for _, g := range []int{8, 4, 2, 1} {
		cells := g * g
		outs = append(outs,
			tensor{shape: []int{1, cells, 2}, data: make([]float32, cells*2)},
			tensor{shape: []int{1, cells, 32}, data: make([]float32, cells*32)})
	}
	// Level stride 16 (4x4), cell gx=1, gy=2: class 1 at 0.7; every side's
	// distribution peaks hard at bin 2, so each side is 2*16 = 32.
	lvl := outs[2:4]
	cell := 2*4 + 1
	lvl[0].data[cell*2+1] = 0.7
	for k := range 4 {
		lvl[1].data[cell*32+k*8+2] = 50
	}
	// Shuffle the output order: decoding must pair by shape, not position.
	outs[0], outs[7] = outs[7], outs[0]
	got, err := decodePicoDet(nil, outs, s, 0.4)
	if err != nil {
		t.Fatal(err)
	}
	// centre ((1+0.5)*16, (2+0.5)*16) = (24, 40).
	want := [4]float32{24 - 32, 40 - 32, 24 + 32, 40 + 32}
	if len(got) != 1 || got[0].class != 1 || abs32(got[0].score-0.7) > 1e-6 {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if abs32(got[0].box[i]-want[i]) > 1e-3 {
			t.Fatalf("box %v, want %v", got[0].box, want)
		}
	}
	if _, err := decodePicoDet(nil, outs[:7], s, 0.4); err == nil {
		t.Error("a missing output: want an error")
	}
}

// TestYOLOXUnbatch builds the scrambled [1, n*rows, cols] output that a
// batch-1 YOLOX export gives OpenCV for n images and checks it is undone.
func TestYOLOXUnbatch(t *testing.T) {
	const size, cols, n = 64, 7, 3
	rows := gridRows(size)
	want := make([][]float32, n)
	for b := range want {
		want[b] = make([]float32, rows*cols)
		for i := range want[b] {
			want[b][i] = float32(b*100000 + i)
		}
	}
	// Per level, head memory [n, cols, cells] read as [cols, n*cells] and
	// transposed to rows.
	var out []float32
	row := 0
	for _, st := range yoloxStrides {
		cells := (size / st) * (size / st)
		mem := make([]float32, 0, n*cols*cells)
		for b := range n {
			for c := range cols {
				for p := range cells {
					mem = append(mem, want[b][(row+p)*cols+c])
				}
			}
		}
		wide := n * cells
		for j := range wide {
			for k := range cols {
				out = append(out, mem[k*wide+j])
			}
		}
		row += cells
	}
	per, _, err := splitBatch([]tensor{{shape: []int{1, n * rows, cols}, data: out}}, n, Spec{Layout: LayoutYOLOX, InputSize: size}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for b := range n {
		got := per[b][0].data
		for i := range got {
			if got[i] != want[b][i] {
				t.Fatalf("image %d value %d = %v, want %v", b, i, got[i], want[b][i])
			}
		}
	}
}
