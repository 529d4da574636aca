package detector

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

// requireORT loads ONNX Runtime or fails: make deps installs it, and a
// test of it must not pass by skipping.
func requireORT(t testing.TB) {
	t.Helper()
	if _, err := InitONNXRuntime(""); err != nil {
		t.Fatalf("ONNX Runtime is needed for this test: %v", err)
	}
}

// TestRuntimesAgree runs every built-in model on both runtimes over the
// reference images and every 10th frame of vtest.avi: the same pre- and
// post-processing on forward passes that differ only in float rounding must
// give the same detections. A detection may appear on one side only when
// its score is within scoreTol of the threshold, where rounding can tip it.
func TestRuntimesAgree(t *testing.T) {
	requireORT(t)
	const scoreTol, boxTol = 2e-3, 0.5 // box in pixels
	for _, spec := range Builtin() {
		t.Run(spec.Name, func(t *testing.T) {
			onnx := newTestDetector(t, Options{Model: spec, Runtime: RuntimeONNX})
			cv := newTestDetector(t, Options{Model: spec, Runtime: RuntimeOpenCV})
			if onnx.Runtime() != RuntimeONNX || cv.Runtime() != RuntimeOpenCV {
				t.Fatalf("runtimes %s and %s", onnx.Runtime(), cv.Runtime())
			}
			thr := onnx.m.spec.ScoreThreshold
			compare := func(what string, img gocv.Mat) int {
				t.Helper()
				a, err := onnx.Detect(img)
				if err != nil {
					t.Fatalf("%s on onnxruntime: %v", what, err)
				}
				b, err := cv.Detect(img)
				if err != nil {
					t.Fatalf("%s on opencv: %v", what, err)
				}
				used := make([]bool, len(b))
				for _, x := range a {
					j := match(x, b, used, scoreTol, boxTol)
					if j < 0 {
						if x.Score-thr > scoreTol {
							t.Errorf("%s: onnxruntime's %s %.4f %v has no match on opencv: %v", what, x.Class, x.Score, x.Box, b)
						}
						continue
					}
					used[j] = true
				}
				for j, y := range b {
					if !used[j] && y.Score-thr > scoreTol {
						t.Errorf("%s: opencv's %s %.4f %v has no match on onnxruntime: %v", what, y.Class, y.Score, y.Box, a)
					}
				}
				return len(a)
			}
			n := compare("messi5.jpg", readImage(t, "messi5.jpg"))
			n += compare("basketball1.png", readImage(t, "basketball1.png"))
			videoFrames(t, -1, func(i int) bool { return i%10 == 0 }, func(i int, frame gocv.Mat) {
				n += compare(fmt.Sprintf("vtest.avi frame %d", i), frame)
			})
			if n < 500 {
				t.Errorf("only %d detections compared", n)
			}
		})
	}
}

// match finds an unused detection in ds of x's class with a score and box
// within the tolerances.
func match(x Detection, ds []Detection, used []bool, scoreTol float32, boxTol float64) int {
	for j, y := range ds {
		if used[j] || y.ClassID != x.ClassID || math.Abs(float64(y.Score-x.Score)) > float64(scoreTol) {
			continue
		}
		ok := true
		for k := range x.Box {
			if math.Abs(float64(x.Box[k]-y.Box[k])) > boxTol {
				ok = false
			}
		}
		if ok {
			return j
		}
	}
	return -1
}

// TestRuntimeOptions: an unknown runtime is refused; the default is ONNX
// Runtime when its library loads.
func TestRuntimeOptions(t *testing.T) {
	requireORT(t)
	if _, err := New(Options{Runtime: "tensorflow"}); err == nil {
		t.Error("runtime tensorflow accepted")
	}
	if d := newTestDetector(t, Options{}); d.Runtime() != RuntimeONNX {
		t.Errorf("default runtime %s with the library loaded, want %s", d.Runtime(), RuntimeONNX)
	}
	// YOLOX-Nano's graph takes one frame: ONNX Runtime says so and runs
	// one at a time.
	d := newTestDetector(t, Options{Runtime: RuntimeONNX, Batch: 4})
	if d.Batch() != 1 || d.BatchError() == nil {
		t.Errorf("Batch() = %d, error %v; want 1 and a reason", d.Batch(), d.BatchError())
	}
	// Asked for by name, ONNX Runtime does not fall back.
	m := Builtin()[0]
	m.InputSize = 320
	if _, err := New(Options{Model: m, Runtime: RuntimeONNX}); err == nil || !strings.Contains(err.Error(), "onnx runtime cannot run it") {
		t.Errorf("a 320 input to a 416 graph on onnxruntime: %v", err)
	}
}

// TestGPUBackends: a GPU backend either runs and finds what the CPU finds,
// or, on a machine without the GPU provider libraries, fails with an error
// that says what is needed; TensorRT is refused on OpenCV.
func TestGPUBackends(t *testing.T) {
	requireORT(t)
	if _, err := New(Options{Runtime: RuntimeOpenCV, Backend: BackendTensorRT}); err == nil ||
		!strings.Contains(err.Error(), "needs ONNX Runtime") {
		t.Errorf("tensorrt on opencv: %v", err)
	}
	if _, err := New(Options{Backend: "rocm"}); err == nil {
		t.Error("backend rocm accepted")
	}
	img := readImage(t, "messi5.jpg")
	want, err := newTestDetector(t, Options{Runtime: RuntimeONNX}).Detect(img)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{BackendCUDA, BackendTensorRT} {
		d, err := New(Options{Runtime: RuntimeONNX, Backend: b, TensorRTCache: t.TempDir()})
		if err != nil {
			if !strings.Contains(err.Error(), "docs/gpu.md") {
				t.Errorf("backend %s without its libraries: %v; want an error pointing at docs/gpu.md", b, err)
			}
			continue
		}
		// The libraries are here: the GPU must find what the CPU finds.
		got, err := d.Detect(img)
		d.Close()
		if err != nil || len(got) != len(want) {
			t.Errorf("backend %s: %d detections (%v), the CPU %d", b, len(got), err, len(want))
		}
	}
}
