package detector

import (
	"fmt"
	"math"
	"sort"
)

// tensor is one network output: its shape and its values, row-major.
type tensor struct {
	shape []int
	data  []float32
}

// yoloxStrides are the YOLOX head strides, in the order the levels appear in
// the output tensor.
var yoloxStrides = [...]int{8, 16, 32}

// gridRows is the number of output rows a YOLOX model with a square input of
// the given size produces (3549 for 416).
func gridRows(inputSize int) int {
	n := 0
	for _, s := range yoloxStrides {
		g := inputSize / s
		n += g * g
	}
	return n
}

// candidate is one decoded box before NMS. Decoders produce boxes in model
// input pixels; geometry.toImage maps them back.
type candidate struct {
	class int
	score float32
	box   [4]float32
}

// decodeFunc turns the outputs of one image into candidates scoring above
// thr, appended to dst.
type decodeFunc func(dst []candidate, outs []tensor, s Spec, thr float32) ([]candidate, error)

func decoderFor(l Layout) decodeFunc {
	switch l {
	case LayoutYOLOv5:
		return decodeYOLOv5
	case LayoutYOLOv8:
		return decodeYOLOv8
	case LayoutPicoDet:
		return decodePicoDet
	default:
		return decodeYOLOX
	}
}

// single returns the only output of a one-output layout as rows x cols.
func single(outs []tensor, l Layout) (rows, cols int, data []float32, err error) {
	if len(outs) != 1 {
		return 0, 0, nil, fmt.Errorf("%s model has %d outputs, want 1", l, len(outs))
	}
	t := outs[0]
	if len(t.shape) != 3 || t.shape[0] != 1 {
		return 0, 0, nil, fmt.Errorf("%s output shape %v, want [1, a, b]", l, t.shape)
	}
	if len(t.data) != t.shape[1]*t.shape[2] {
		return 0, 0, nil, fmt.Errorf("%s output shape %v holds %d values", l, t.shape, len(t.data))
	}
	return t.shape[1], t.shape[2], t.data, nil
}

// bestClass returns the argmax and max of scores.
func bestClass(scores []float32) (int, float32) {
	best, bestScore := 0, scores[0]
	for c, v := range scores[1:] {
		if v > bestScore {
			best, bestScore = c+1, v
		}
	}
	return best, bestScore
}

// decodeYOLOX decodes [1, rows, 5+C] (rows = gridRows(input size); each row
// tx, ty, tw, th, obj, cls...; obj and cls after the sigmoid) with score =
// obj * cls.
func decodeYOLOX(dst []candidate, outs []tensor, s Spec, thr float32) ([]candidate, error) {
	rows, cols, out, err := single(outs, LayoutYOLOX)
	if err != nil {
		return dst, err
	}
	if want := gridRows(s.InputSize); cols < 6 || rows != want {
		return dst, fmt.Errorf("yolox output shape [1 %d %d], want [1 %d 5+classes] for a %dx%d input",
			rows, cols, want, s.InputSize, s.InputSize)
	}
	row := 0
	for _, stride := range yoloxStrides {
		g := s.InputSize / stride
		st := float32(stride)
		for gy := 0; gy < g; gy++ {
			for gx := 0; gx < g; gx++ {
				p := out[row*cols : (row+1)*cols]
				row++
				// cls <= 1 after the sigmoid, so obj bounds the score; this
				// skips the class scan for almost every row.
				if p[4] <= thr {
					continue
				}
				best, cls := bestClass(p[5:])
				score := p[4] * cls
				if score <= thr {
					continue
				}
				cx := (p[0] + float32(gx)) * st
				cy := (p[1] + float32(gy)) * st
				w := float32(math.Exp(float64(p[2]))) * st
				h := float32(math.Exp(float64(p[3]))) * st
				dst = append(dst, candidate{class: best, score: score,
					box: [4]float32{cx - w/2, cy - h/2, cx + w/2, cy + h/2}})
			}
		}
	}
	return dst, nil
}

// decodeYOLOv5 decodes [1, N, 5+C]: cx, cy, w, h in input pixels, obj, cls...
func decodeYOLOv5(dst []candidate, outs []tensor, _ Spec, thr float32) ([]candidate, error) {
	rows, cols, out, err := single(outs, LayoutYOLOv5)
	if err != nil {
		return dst, err
	}
	if cols < 6 {
		return dst, fmt.Errorf("yolov5 output shape [1 %d %d], want [1 N 5+classes]", rows, cols)
	}
	for r := 0; r < rows; r++ {
		p := out[r*cols : (r+1)*cols]
		if p[4] <= thr {
			continue
		}
		best, cls := bestClass(p[5:])
		if score := p[4] * cls; score > thr {
			dst = append(dst, candidate{class: best, score: score, box: cxcywh(p[0], p[1], p[2], p[3])})
		}
	}
	return dst, nil
}

// decodeYOLOv8 decodes [1, 4+C, N] (channels first, as Ultralytics exports
// it): cx, cy, w, h in input pixels, then class scores; no objectness. The
// transposed [1, N, 4+C] is recognised by N being the larger dimension.
func decodeYOLOv8(dst []candidate, outs []tensor, _ Spec, thr float32) ([]candidate, error) {
	a, b, out, err := single(outs, LayoutYOLOv8)
	if err != nil {
		return dst, err
	}
	if min(a, b) < 5 {
		return dst, fmt.Errorf("yolov8 output shape [1 %d %d], want [1 4+classes N] with N > 4+classes", a, b)
	}
	if a <= b { // [1, 4+C, N]
		chans, n := a, b
		at := func(c, i int) float32 { return out[c*n+i] }
		for i := 0; i < n; i++ {
			best, score := 0, at(4, i)
			for c := 5; c < chans; c++ {
				if v := at(c, i); v > score {
					best, score = c-4, v
				}
			}
			if score > thr {
				dst = append(dst, candidate{class: best, score: score, box: cxcywh(at(0, i), at(1, i), at(2, i), at(3, i))})
			}
		}
		return dst, nil
	}
	n, cols := a, b // [1, N, 4+C]
	for i := 0; i < n; i++ {
		p := out[i*cols : (i+1)*cols]
		best, score := bestClass(p[4:])
		if score > thr {
			dst = append(dst, candidate{class: best, score: score, box: cxcywh(p[0], p[1], p[2], p[3])})
		}
	}
	return dst, nil
}

func cxcywh(cx, cy, w, h float32) [4]float32 {
	return [4]float32{cx - w/2, cy - h/2, cx + w/2, cy + h/2}
}

// picoLevel is one PicoDet stride: its score and box-distribution outputs.
type picoLevel struct {
	stride, grid int
	scores, dist tensor
}

// picoLevels pairs PicoDet's outputs by cell count, telling scores from box
// distributions by their last dimension, since the output order is not
// guaranteed. Each level's grid is ceil(input/stride).
func picoLevels(outs []tensor, s Spec) ([]picoLevel, error) {
	bins := 4 * (s.RegMax + 1)
	byCells := map[int]*picoLevel{}
	var order []int
	for _, t := range outs {
		if len(t.shape) != 3 || t.shape[0] != 1 {
			return nil, fmt.Errorf("picodet output shape %v, want [1, cells, classes or %d]", t.shape, bins)
		}
		cells := t.shape[1]
		l := byCells[cells]
		if l == nil {
			l = &picoLevel{}
			byCells[cells] = l
			order = append(order, cells)
		}
		switch {
		case t.shape[2] == bins && l.dist.data == nil:
			l.dist = t
		case l.scores.data == nil:
			l.scores = t
		default:
			return nil, fmt.Errorf("picodet outputs: two score tensors with %d cells", cells)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(order)))
	levels := make([]picoLevel, 0, len(order))
	for _, cells := range order {
		l := byCells[cells]
		if l.scores.data == nil || l.dist.data == nil {
			return nil, fmt.Errorf("picodet outputs: level with %d cells lacks its scores or box distribution (want [1 %d classes] and [1 %d %d])", cells, cells, cells, bins)
		}
		g := int(math.Round(math.Sqrt(float64(cells))))
		if g*g != cells {
			return nil, fmt.Errorf("picodet outputs: %d cells is not a square grid", cells)
		}
		l.grid = g
		for st := 4; st <= 256; st *= 2 {
			if (s.InputSize+st-1)/st == g {
				l.stride = st
				break
			}
		}
		if l.stride == 0 {
			return nil, fmt.Errorf("picodet outputs: no stride gives a %dx%d grid for a %d input", g, g, s.InputSize)
		}
		levels = append(levels, *l)
	}
	if len(levels) == 0 {
		return nil, fmt.Errorf("picodet model has no outputs")
	}
	return levels, nil
}

// decodePicoDet decodes PicoDet's per-stride outputs: score = max class
// score (already sigmoid), box sides = stride * expected bin of each side's
// softmax distribution, around the cell centre (gx+0.5, gy+0.5)*stride.
func decodePicoDet(dst []candidate, outs []tensor, s Spec, thr float32) ([]candidate, error) {
	levels, err := picoLevels(outs, s)
	if err != nil {
		return dst, err
	}
	nb := s.RegMax + 1
	var side [4]float32
	for _, l := range levels {
		nc := l.scores.shape[2]
		st := float32(l.stride)
		for i := 0; i < l.grid*l.grid; i++ {
			best, score := bestClass(l.scores.data[i*nc : (i+1)*nc])
			if score <= thr {
				continue
			}
			d := l.dist.data[i*4*nb : (i+1)*4*nb]
			for k := range side {
				side[k] = st * expectedBin(d[k*nb:(k+1)*nb])
			}
			cx := (float32(i%l.grid) + 0.5) * st
			cy := (float32(i/l.grid) + 0.5) * st
			dst = append(dst, candidate{class: best, score: score,
				box: [4]float32{cx - side[0], cy - side[1], cx + side[2], cy + side[3]}})
		}
	}
	return dst, nil
}

// expectedBin is sum_j j * softmax(logits)_j.
func expectedBin(logits []float32) float32 {
	m := logits[0]
	for _, v := range logits[1:] {
		m = max(m, v)
	}
	var sum, acc float64
	for j, v := range logits {
		e := math.Exp(float64(v - m))
		sum += e
		acc += float64(j) * e
	}
	return float32(acc / sum)
}

// splitBatch cuts the outputs of a batch of n images into per-image outputs
// with a leading dimension of 1. Outputs whose first dimension is n are
// sliced. YOLOX exports traced at batch 1 hard-code that batch in the
// Reshape that flattens each level, so OpenCV returns [1, n*rows, cols]
// holding, level by level, the [n, cols, cells] head memory read as
// [cols, n*cells]; yoloxUnbatch undoes that. scratch is reused.
func splitBatch(outs []tensor, n int, s Spec, scratch [][]float32) ([][]tensor, [][]float32, error) {
	per := make([][]tensor, n)
	if n == 1 {
		per[0] = outs
		return per, scratch, nil
	}
	if len(outs) == 1 && s.Layout == LayoutYOLOX && len(outs[0].shape) == 3 && outs[0].shape[0] == 1 {
		return yoloxUnbatch(outs[0], n, s, scratch)
	}
	for _, t := range outs {
		if len(t.shape) == 0 || t.shape[0] != n {
			return nil, scratch, fmt.Errorf("batch of %d gave output shape %v", n, t.shape)
		}
		size := len(t.data) / n
		shape := append([]int{1}, t.shape[1:]...)
		for b := range n {
			per[b] = append(per[b], tensor{shape: shape, data: t.data[b*size : (b+1)*size]})
		}
	}
	return per, scratch, nil
}

func yoloxUnbatch(t tensor, n int, s Spec, scratch [][]float32) ([][]tensor, [][]float32, error) {
	rows, cols := gridRows(s.InputSize), t.shape[2]
	if t.shape[1] != n*rows {
		return nil, scratch, fmt.Errorf("batch of %d gave yolox output shape %v, want [1 %d %d]", n, t.shape, n*rows, cols)
	}
	for len(scratch) < n {
		scratch = append(scratch, nil)
	}
	per := make([][]tensor, n)
	for b := range n {
		if cap(scratch[b]) < rows*cols {
			scratch[b] = make([]float32, rows*cols)
		}
		scratch[b] = scratch[b][:rows*cols]
		per[b] = []tensor{{shape: []int{1, rows, cols}, data: scratch[b]}}
	}
	off, row := 0, 0 // off: first batched row of the level; row: first per-image row
	for _, stride := range yoloxStrides {
		g := s.InputSize / stride
		cells := g * g
		wide := n * cells // columns of the [cols, n*cells] view
		for b := range n {
			dst := scratch[b]
			for c := range cols {
				for p := range cells {
					flat := (b*cols+c)*cells + p // index in [n, cols, cells]
					k, j := flat/wide, flat%wide // position in [cols, n*cells]
					dst[(row+p)*cols+c] = t.data[(off+j)*cols+k]
				}
			}
		}
		off += wide
		row += cells
	}
	return per, scratch, nil
}

// nmsPerClass runs greedy non-maximum suppression separately for each class
// (OpenCV 4.6 has no batched NMS). A box is dropped when its IoU with a
// higher-scoring kept box of the same class exceeds iouThr, matching
// cv::dnn::NMSBoxes. Done in Go on float boxes because gocv's NMSBoxes takes
// integer rectangles. cands is reordered in place (by descending score); the
// kept candidates are returned in that order.
func nmsPerClass(cands []candidate, iouThr float32) []candidate {
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	kept := cands[:0]
	for _, c := range cands {
		keep := true
		for _, k := range kept {
			if k.class == c.class && iou(k.box, c.box) > iouThr {
				keep = false
				break
			}
		}
		if keep {
			kept = append(kept, c)
		}
	}
	return kept
}

// iou is the intersection over union of two x1,y1,x2,y2 boxes.
func iou(a, b [4]float32) float32 {
	iw := min(a[2], b[2]) - max(a[0], b[0])
	ih := min(a[3], b[3]) - max(a[1], b[1])
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	union := (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}
