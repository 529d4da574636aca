package detector

import (
	"testing"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/testenv"
)

func readImage(t testing.TB, name string) gocv.Mat {
	t.Helper()
	path := testenv.SharedFile(t, name)
	img := gocv.IMRead(path, gocv.IMReadColor)
	if img.Empty() {
		t.Fatalf("cannot decode %s", path)
	}
	t.Cleanup(func() { img.Close() })
	return img
}

func newTestDetector(t testing.TB, opts Options) *Detector {
	t.Helper()
	d, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// videoFrames calls fn for every frame of the test video whose index
// satisfies want, reading sequentially because AVI seeking is not
// frame-accurate.
func videoFrames(t testing.TB, last int, want func(i int) bool, fn func(i int, frame gocv.Mat)) {
	t.Helper()
	path := testenv.SharedFile(t, "vtest.avi")
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer vc.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	for i := 0; last < 0 || i <= last; i++ {
		if !vc.Read(&frame) || frame.Empty() {
			if last >= 0 {
				t.Fatalf("%s: could not read frame %d", path, i)
			}
			return
		}
		if want(i) {
			fn(i, frame)
		}
	}
}
