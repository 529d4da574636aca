package detector

import (
	"os"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"
)

// testdataDir is the shared test media folder, ../shared/testdata next to the
// repository root (the directory holding go.mod).
func testdataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test directory; cannot locate ../shared/testdata")
		}
		dir = parent
	}
	td := filepath.Join(dir, "..", "shared", "testdata")
	for _, f := range []string{"vtest.avi", "messi5.jpg", "basketball1.png"} {
		if _, err := os.Stat(filepath.Join(td, f)); err != nil {
			t.Fatalf("test media missing: %v (expected the shared test media in %s; see shared/testdata/README.txt)", err, td)
		}
	}
	return td
}

func readImage(t testing.TB, name string) gocv.Mat {
	t.Helper()
	path := filepath.Join(testdataDir(t), name)
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
	path := filepath.Join(testdataDir(t), "vtest.avi")
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
