package detector

import (
	"bytes"
	"fmt"
	"image/jpeg"

	"gocv.io/x/gocv"
)

// Frame is a decoded image and the size of the picture it came from, which
// is larger when it was decoded at a reduced scale.
type Frame struct {
	Mat           gocv.Mat
	Width, Height int // the encoded picture's size, in the pixels boxes are given in
}

// Close frees the image.
func (f Frame) Close() { f.Mat.Close() }

// DecodeJPEG decodes a JPEG for a model of input side size. A picture at
// least twice as large as the model takes is decoded at 1/2, 1/4 or 1/8
// scale by the JPEG decoder itself (its scaled inverse DCT), as long as the
// reduced picture's long side still reaches size: the letterbox then only
// ever shrinks it, and a 1080p frame decodes about four times faster. The
// same bytes always decode the same way.
func DecodeJPEG(data []byte, size int) (Frame, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Frame{}, fmt.Errorf("jpeg header: %w", err)
	}
	if size < 1 {
		return Frame{}, fmt.Errorf("jpeg: model input size %d", size)
	}
	flag := gocv.IMReadColor
	long := max(cfg.Width, cfg.Height)
	for _, r := range []struct {
		div  int
		flag gocv.IMReadFlag
	}{{8, gocv.IMReadReducedColor8}, {4, gocv.IMReadReducedColor4}, {2, gocv.IMReadReducedColor2}} {
		if (long+r.div-1)/r.div >= size {
			flag = r.flag
			break
		}
	}
	m, err := gocv.IMDecode(data, flag)
	if err != nil || m.Empty() {
		m.Close()
		return Frame{}, fmt.Errorf("jpeg: %dx%d picture does not decode", cfg.Width, cfg.Height)
	}
	return Frame{Mat: m, Width: cfg.Width, Height: cfg.Height}, nil
}

// ScaleBoxes maps detections made on f.Mat to the picture's pixels.
func ScaleBoxes(f Frame, dets []Detection) {
	fx := float32(f.Width) / float32(f.Mat.Cols())
	fy := float32(f.Height) / float32(f.Mat.Rows())
	if fx == 1 && fy == 1 {
		return
	}
	w, h := float32(f.Width), float32(f.Height)
	for i := range dets {
		b := &dets[i].Box
		b[0], b[2] = min(b[0]*fx, w), min(b[2]*fx, w)
		b[1], b[3] = min(b[1]*fy, h), min(b[3]*fy, h)
	}
}
