package track

import "math"

// toBox widens a detection box to float64 and reports whether it is usable:
// finite, with positive width and height. Other boxes are ignored, as a
// filter cannot take a measurement without a height.
func toBox(b [4]float32) ([4]float64, bool) {
	v := [4]float64{float64(b[0]), float64(b[1]), float64(b[2]), float64(b[3])}
	return v, validBox(v)
}

func validBox(b [4]float64) bool {
	for _, x := range b {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return b[2] > b[0] && b[3] > b[1]
}

// iou is the intersection over union of two boxes (x1, y1, x2, y2). An
// empty, inverted or NaN box, as a diverged prediction could give, scores 0:
// its overlap cannot be positive.
func iou(a, b [4]float64) float64 {
	w := min(a[2], b[2]) - max(a[0], b[0])
	h := min(a[3], b[3]) - max(a[1], b[1])
	if !(w > 0 && h > 0) {
		return 0
	}
	inter := w * h
	return inter / ((a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter)
}
