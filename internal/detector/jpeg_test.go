package detector

import (
	"image"
	"testing"

	"gocv.io/x/gocv"
)

// encodeScaled returns img resized to w x h, as a JPEG.
func encodeScaled(t testing.TB, img gocv.Mat, w, h int) []byte {
	t.Helper()
	big := gocv.NewMat()
	defer big.Close()
	gocv.Resize(img, &big, image.Pt(w, h), 0, 0, gocv.InterpolationCubic)
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, big, []int{gocv.IMWriteJpegQuality, 90})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...)
}

func TestDecodeJPEGScale(t *testing.T) {
	img := readImage(t, "messi5.jpg")
	for _, c := range []struct {
		w, h, wantCols int
	}{
		{1920, 1080, 480}, // 1/4: 480 still reaches 416
		{1280, 720, 640},  // 1/2
		{768, 576, 768},   // 1/2 would be 384 < 416: full size
		{416, 234, 416},
		{200, 100, 200},        // smaller than the model: full size
		{3840, 2160, 480},      // 1/8
		{1080, 1920, 1080 / 4}, // portrait: the long side decides
	} {
		f, err := DecodeJPEG(encodeScaled(t, img, c.w, c.h), 416)
		if err != nil {
			t.Fatalf("%dx%d: %v", c.w, c.h, err)
		}
		if f.Width != c.w || f.Height != c.h || f.Mat.Cols() != c.wantCols {
			t.Errorf("%dx%d: got picture %dx%d decoded %dx%d, want decoded width %d",
				c.w, c.h, f.Width, f.Height, f.Mat.Cols(), f.Mat.Rows(), c.wantCols)
		}
		f.Close()
	}
	if _, err := DecodeJPEG([]byte("not a jpeg"), 416); err == nil {
		t.Error("garbage decoded")
	}
	good := encodeScaled(t, img, 640, 480)
	if _, err := DecodeJPEG(good[:200], 416); err == nil {
		t.Error("a JPEG cut inside its headers decoded")
	}
}

// TestDecodeJPEGReducedDetects checks that a 1080p frame decoded at a
// quarter of its size finds what the full decode finds, in the full
// picture's pixels.
func TestDecodeJPEGReducedDetects(t *testing.T) {
	data := encodeScaled(t, readImage(t, "messi5.jpg"), 1920, 1080)
	d := newTestDetector(t, Options{})
	full, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	want, err := d.Detect(full)
	if err != nil {
		t.Fatal(err)
	}
	f, err := DecodeJPEG(data, d.opts.Model.InputSize)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Mat.Cols() != 480 {
		t.Fatalf("decoded %d wide, want 480", f.Mat.Cols())
	}
	got, err := d.Detect(f.Mat)
	if err != nil {
		t.Fatal(err)
	}
	ScaleBoxes(f, got)
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("reduced decode found %d objects, full decode %d", len(got), len(want))
	}
	for _, w := range want {
		best := float32(0)
		for _, g := range got {
			if g.Class == w.Class {
				best = max(best, iou(g.Box, w.Box))
			}
		}
		if best < 0.85 {
			t.Errorf("%s at %v: best IoU with the reduced decode's boxes %.2f, want >= 0.85 (got %v)", w.Class, w.Box, best, got)
		}
	}
}

// BenchmarkDecodeJPEG decodes a 1080p frame in full and as DecodeJPEG does
// for a 416 model, and letterboxes it: the ratio is what reduced decoding
// saves per frame.
func BenchmarkDecodeJPEG(b *testing.B) {
	img := readImage(b, "messi5.jpg")
	data := encodeScaled(b, img, 1920, 1080)
	canvas := gocv.NewMat()
	defer canvas.Close()
	letterbox := func(m gocv.Mat) {
		s := 416.0 / float64(max(m.Cols(), m.Rows()))
		gocv.Resize(m, &canvas, image.Pt(int(float64(m.Cols())*s), int(float64(m.Rows())*s)), 0, 0, gocv.InterpolationLinear)
	}
	b.Run("full", func(b *testing.B) {
		for range b.N {
			m, err := gocv.IMDecode(data, gocv.IMReadColor)
			if err != nil {
				b.Fatal(err)
			}
			letterbox(m)
			m.Close()
		}
	})
	b.Run("reduced", func(b *testing.B) {
		for range b.N {
			f, err := DecodeJPEG(data, 416)
			if err != nil {
				b.Fatal(err)
			}
			letterbox(f.Mat)
			f.Close()
		}
	})
}

func TestDecodeJPEGNeedsASize(t *testing.T) {
	if _, err := DecodeJPEG(encodeScaled(t, readImage(t, "messi5.jpg"), 640, 480), 0); err == nil {
		t.Error("decoded for a model of input size 0")
	}
}
