package detector

import (
	"fmt"
	"math"
	"sort"
)

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

// candidate is one decoded box before NMS, in original-image pixels.
type candidate struct {
	class int
	score float32
	box   [4]float32
}

// decodeYOLOX turns the raw [rows, cols] output (rows = gridRows(inputSize),
// cols = 5 + classes; each row tx, ty, tw, th, obj, cls...) into candidates
// with obj*cls > scoreThr. scale is the letterbox factor r; boxes are divided
// by it to get back to original pixels. Results are appended to dst.
func decodeYOLOX(dst []candidate, out []float32, cols, inputSize int, scale, scoreThr float32) ([]candidate, error) {
	rows := gridRows(inputSize)
	if cols < 6 || len(out) != rows*cols {
		return dst, fmt.Errorf("model output has %d values, want %d rows x (5 + classes) for a %dx%d YOLOX model", len(out), rows, inputSize, inputSize)
	}
	row := 0
	for _, stride := range yoloxStrides {
		g := inputSize / stride
		s := float32(stride)
		for gy := 0; gy < g; gy++ {
			for gx := 0; gx < g; gx++ {
				p := out[row*cols : (row+1)*cols]
				row++
				obj := p[4]
				// cls <= 1 after the sigmoid, so obj bounds the score; this
				// skips the class scan for almost every row.
				if obj <= scoreThr {
					continue
				}
				best, bestCls := 0, p[5]
				for c, v := range p[6:] {
					if v > bestCls {
						best, bestCls = c+1, v
					}
				}
				score := obj * bestCls
				if score <= scoreThr {
					continue
				}
				cx := (p[0] + float32(gx)) * s
				cy := (p[1] + float32(gy)) * s
				w := float32(math.Exp(float64(p[2]))) * s
				h := float32(math.Exp(float64(p[3]))) * s
				dst = append(dst, candidate{
					class: best,
					score: score,
					box: [4]float32{
						(cx - w/2) / scale, (cy - h/2) / scale,
						(cx + w/2) / scale, (cy + h/2) / scale,
					},
				})
			}
		}
	}
	return dst, nil
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
