package detector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/models"
)

// refDet is a reference detection from models/yolox_nano_416_coco.PROVENANCE
// (OpenCV 4.6 DNN in Python, score > 0.3, IoU 0.45).
type refDet struct {
	class string
	score float32
	box   [4]float32
}

// requireRefs checks that every reference detection has a match of the same
// class with IoU >= 0.9 and a score within 0.02.
func requireRefs(t *testing.T, dets []Detection, refs []refDet) {
	t.Helper()
	for _, r := range refs {
		found := false
		for _, d := range dets {
			if d.Class == r.class && iou(d.Box, r.box) >= 0.9 && abs32(d.Score-r.score) <= 0.02 {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no detection matches reference %s %.2f %v; got %s", r.class, r.score, r.box, formatDets(dets))
		}
	}
}

// requireClass checks how many detections of a class there are and that
// their scores lie within [lo-0.02, hi+0.02].
func requireClass(t *testing.T, dets []Detection, class string, wantMin, wantMax int, lo, hi float32) {
	t.Helper()
	n := 0
	for _, d := range dets {
		if d.Class != class {
			continue
		}
		n++
		if d.Score < lo-0.02 || d.Score > hi+0.02 {
			t.Errorf("%s score %.3f outside reference range %.2f-%.2f", class, d.Score, lo, hi)
		}
	}
	if n < wantMin || n > wantMax {
		t.Errorf("%d %s detections, want %d..%d; got %s", n, class, wantMin, wantMax, formatDets(dets))
	}
}

func requireOnlyClasses(t *testing.T, dets []Detection, classes ...string) {
	t.Helper()
	for _, d := range dets {
		ok := false
		for _, c := range classes {
			ok = ok || d.Class == c
		}
		if !ok {
			t.Errorf("unexpected %s %.2f %v", d.Class, d.Score, d.Box)
		}
	}
}

func formatDets(dets []Detection) string {
	var b strings.Builder
	for _, d := range dets {
		fmt.Fprintf(&b, "\n  %s %.3f [%.1f %.1f %.1f %.1f]", d.Class, d.Score, d.Box[0], d.Box[1], d.Box[2], d.Box[3])
	}
	return b.String()
}

func abs32(f float32) float32 { return float32(math.Abs(float64(f))) }

func TestDetectMessi(t *testing.T) {
	d := newTestDetector(t, Options{})
	dets, err := d.Detect(readImage(t, "messi5.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	requireRefs(t, dets, []refDet{
		{"sports ball", 0.89, [4]float32{337, 291, 386, 338}},
		{"person", 0.85, [4]float32{67, 61, 476, 337}},
	})
	// The player plus 7 spectators at 0.34-0.75.
	requireClass(t, dets, "person", 8, 8, 0.34, 0.85)
	requireClass(t, dets, "sports ball", 1, 1, 0.89, 0.89)
	requireOnlyClasses(t, dets, "person", "sports ball")
	for i := 1; i < len(dets); i++ {
		if dets[i].Score > dets[i-1].Score {
			t.Errorf("detections not sorted by score: %s", formatDets(dets))
		}
	}
}

func TestDetectBasketball(t *testing.T) {
	d := newTestDetector(t, Options{})
	dets, err := d.Detect(readImage(t, "basketball1.png"))
	if err != nil {
		t.Fatal(err)
	}
	requireRefs(t, dets, []refDet{
		{"person", 0.88, [4]float32{33, 83, 170, 479}},
		{"person", 0.82, [4]float32{432, 19, 640, 478}},
	})
	requireClass(t, dets, "person", 2, 2, 0.82, 0.88)
	requireOnlyClasses(t, dets, "person")
}

func TestDetectVideoFrames(t *testing.T) {
	d := newTestDetector(t, Options{})
	got := map[int][]Detection{}
	videoFrames(t, 200, func(i int) bool { return i == 0 || i == 200 }, func(i int, frame gocv.Mat) {
		dets, err := d.Detect(frame)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		got[i] = dets
	})

	t.Run("frame0", func(t *testing.T) {
		dets := got[0]
		// 4 persons (0.53-0.85), car 0.80, truck 0.75, car 0.64 (the parked van).
		requireClass(t, dets, "person", 4, 4, 0.53, 0.85)
		requireClass(t, dets, "car", 2, 2, 0.64, 0.80)
		requireClass(t, dets, "truck", 1, 1, 0.75, 0.75)
		requireOnlyClasses(t, dets, "person", "car", "truck")
	})
	t.Run("frame200", func(t *testing.T) {
		dets := got[200]
		// Reference scores are not given for these boxes, so only the
		// class, the box and the 0.46-0.84 person range are checked.
		for _, box := range [][4]float32{{615, 263, 649, 367}, {220, 187, 248, 266}, {702, 252, 744, 355}} {
			found := false
			for _, d := range dets {
				found = found || (d.Class == "person" && iou(d.Box, box) >= 0.9)
			}
			if !found {
				t.Errorf("no person matching reference box %v; got %s", box, formatDets(dets))
			}
		}
		requireClass(t, dets, "person", 8, 8, 0.46, 0.84)
		requireClass(t, dets, "car", 1, 2, 0, 1)
		requireClass(t, dets, "truck", 1, 1, 0, 1)
		requireOnlyClasses(t, dets, "person", "car", "truck")
	})
}

// TestVideoPersonsPerFrame runs every 5th frame of vtest.avi (159 frames); the
// reference finds 6.74 persons per frame on average and a person in every one.
func TestVideoPersonsPerFrame(t *testing.T) {
	d := newTestDetector(t, Options{})
	frames, persons, minPersons := 0, 0, math.MaxInt
	videoFrames(t, -1, func(i int) bool { return i%5 == 0 }, func(i int, frame gocv.Mat) {
		dets, err := d.Detect(frame)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		n := 0
		for _, d := range dets {
			if d.ClassID == 0 {
				n++
			}
		}
		frames++
		persons += n
		minPersons = min(minPersons, n)
	})
	if frames != 159 {
		t.Fatalf("sampled %d frames, want 159", frames)
	}
	mean := float64(persons) / float64(frames)
	t.Logf("%d frames, mean %.2f persons per frame, min %d", frames, mean, minPersons)
	if mean < 6.5 || mean > 7.0 {
		t.Errorf("mean persons per frame %.2f, want 6.5..7.0 (reference 6.74)", mean)
	}
	if minPersons < 1 {
		t.Errorf("a sampled frame has no person; the reference finds one in every frame")
	}
}

// TestDetectReusesBuffers checks that the reused canvas is fully reset between
// images of different sizes.
func TestDetectReusesBuffers(t *testing.T) {
	d := newTestDetector(t, Options{})
	messi, ball := readImage(t, "messi5.jpg"), readImage(t, "basketball1.png")
	first, err := d.Detect(messi)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Detect(ball); err != nil {
		t.Fatal(err)
	}
	again, err := d.Detect(messi)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(again) {
		t.Fatalf("second run on messi5.jpg gave %d detections, first %d", len(again), len(first))
	}
	for i := range first {
		if first[i] != again[i] {
			t.Errorf("detection %d differs: %+v vs %+v", i, first[i], again[i])
		}
	}
}

func TestDetectColorFormats(t *testing.T) {
	d := newTestDetector(t, Options{})
	img := readImage(t, "basketball1.png")
	want, err := d.Detect(img)
	if err != nil {
		t.Fatal(err)
	}

	bgra := gocv.NewMat()
	defer bgra.Close()
	gocv.CvtColor(img, &bgra, gocv.ColorBGRToBGRA)
	got, err := d.Detect(bgra)
	if err != nil {
		t.Fatalf("BGRA: %v", err)
	}
	if len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) {
		t.Errorf("BGRA result %s differs from BGR %s", formatDets(got), formatDets(want))
	}

	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(img, &gray, gocv.ColorBGRToGray)
	got, err = d.Detect(gray)
	if err != nil {
		t.Fatalf("gray: %v", err)
	}
	if len(got) == 0 || got[0].Class != "person" {
		t.Errorf("gray: want a person, got %s", formatDets(got))
	}

	f32 := gocv.NewMat()
	defer f32.Close()
	img.ConvertTo(&f32, gocv.MatTypeCV32FC3)
	if _, err := d.Detect(f32); err == nil {
		t.Error("float image: want an error")
	}
}

func TestDetectNothingFound(t *testing.T) {
	d := newTestDetector(t, Options{})
	blank := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(114, 114, 114, 0), 240, 320, gocv.MatTypeCV8UC3)
	defer blank.Close()
	dets, err := d.Detect(blank)
	if err != nil {
		t.Fatal(err)
	}
	if dets == nil || len(dets) != 0 {
		t.Fatalf("blank image: got %#v, want an empty non-nil slice", dets)
	}
}

func TestDetectErrors(t *testing.T) {
	d := newTestDetector(t, Options{})
	empty := gocv.NewMat()
	defer empty.Close()
	if _, err := d.Detect(empty); err == nil {
		t.Error("empty Mat: want an error")
	}
	d.Close()
	if _, err := d.Detect(readImage(t, "messi5.jpg")); err == nil {
		t.Error("closed detector: want an error")
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestScoreThreshold(t *testing.T) {
	d := newTestDetector(t, Options{ScoreThreshold: 0.8})
	dets, err := d.Detect(readImage(t, "messi5.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dets) != 2 {
		t.Errorf("score > 0.8: got %s, want the ball and the player", formatDets(dets))
	}
}

func TestModelName(t *testing.T) {
	if got := newTestDetector(t, Options{}).ModelName(); got != models.DefaultName {
		t.Errorf("default ModelName = %q, want %q", got, models.DefaultName)
	}
	path := filepath.Join(t.TempDir(), "custom.onnx")
	if err := os.WriteFile(path, models.DefaultONNX, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := newTestDetector(t, Options{Model: SpecForFile(path, LayoutYOLOX)}).ModelName(); got != "custom" {
		t.Errorf("ModelName = %q, want custom", got)
	}
}

func TestThreads(t *testing.T) {
	prev := numThreads()
	t.Cleanup(func() { setNumThreads(prev) })
	newTestDetector(t, Options{Threads: 1, Runtime: RuntimeOpenCV}) // OpenCV's own thread count
	if got := numThreads(); got != 1 {
		t.Errorf("OpenCV threads = %d after Threads: 1", got)
	}
}

// TestNewRejectsBadModels checks that broken model files give an error naming
// the file instead of OpenCV aborting the process.
func TestNewRejectsBadModels(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"empty.onnx":     {},
		"truncated.onnx": models.DefaultONNX[:len(models.DefaultONNX)/2],
		"random.onnx":    randomBytes(1, 4096),
		"text.onnx":      []byte("this is not a model\n"),
		// Well-formed protobuf without opset_import (the last 6 bytes of
		// the embedded model): OpenCV 4.6 aborts on it.
		"cut_after_graph.onnx": models.DefaultONNX[:len(models.DefaultONNX)-6],
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := New(Options{Model: SpecForFile(path, LayoutYOLOX)})
		if err == nil {
			d.Close()
			t.Errorf("%s: New succeeded, want an error", name)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	missing := filepath.Join(dir, "missing.onnx")
	if _, err := New(Options{Model: SpecForFile(missing, LayoutYOLOX)}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing model: error %v does not name %s", err, missing)
	}
}

// TestNewRejectsUnrunnableModel uses a well-formed ONNX model whose only node
// is an operator OpenCV does not know: ValidateONNX accepts it, so the probe
// must turn OpenCV's exception into an error.
func TestNewRejectsUnrunnableModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "unknown_op.onnx")
	if err := os.WriteFile(path, singleOpModel("NoSuchOp"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ValidateONNX(singleOpModel("NoSuchOp")); err != nil {
		t.Fatalf("test model should pass ValidateONNX: %v", err)
	}
	d, err := New(Options{Model: SpecForFile(path, LayoutYOLOX)})
	if err == nil {
		d.Close()
		t.Fatal("New succeeded on a model OpenCV cannot run")
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
}

// TestNewRejectsNonYOLOXOutput uses a model OpenCV runs fine (a single
// Identity node) whose output is not YOLOX-shaped.
func TestNewRejectsNonYOLOXOutput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.onnx")
	if err := os.WriteFile(path, singleOpModel("Identity"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Model: SpecForFile(path, LayoutYOLOX)})
	if err == nil {
		d.Close()
		t.Fatal("New accepted a model with a non-YOLOX output")
	}
	if !strings.Contains(err.Error(), "do not fit layout yolox") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q should name the file and the output shape", err)
	}
}

// TestInputSize runs the (fully convolutional) embedded model at 320x320:
// the probe accepts the 2100-row output and the two players are still found.
func TestInputSize(t *testing.T) {
	m := Builtin()[0]
	m.InputSize = 320
	// The graph's input is fixed at 416: ONNX Runtime refuses 320, OpenCV
	// takes it, and the default runtime falls back to OpenCV.
	d := newTestDetector(t, Options{Model: m})
	if d.Runtime() != RuntimeOpenCV {
		t.Errorf("runtime %s for a 320 input to a 416 graph, want %s", d.Runtime(), RuntimeOpenCV)
	}
	dets, err := d.Detect(readImage(t, "basketball1.png"))
	if err != nil {
		t.Fatal(err)
	}
	requireClass(t, dets, "person", 2, 2, 0.3, 1)
}

// singleOpModel encodes a minimal ModelProto by hand: ir_version 7, a graph
// with one node of the given op type (x -> y, both float [1,3,416,416]) and
// opset_import {version 11}.
func singleOpModel(op string) []byte {
	varint := func(field byte, v uint64) []byte {
		b := []byte{field << 3}
		for ; v >= 0x80; v >>= 7 {
			b = append(b, byte(v)|0x80)
		}
		return append(b, byte(v))
	}
	msg := func(field byte, body ...[]byte) []byte {
		var b []byte
		for _, p := range body {
			b = append(b, p...)
		}
		return append([]byte{field<<3 | 2, byte(len(b))}, b...)
	}
	str := func(field byte, s string) []byte { return msg(field, []byte(s)) }
	var dims [][]byte
	for _, d := range []uint64{1, 3, 416, 416} {
		dims = append(dims, msg(1, varint(1, d))) // TensorShapeProto.dim.dim_value
	}
	// ValueInfoProto.type -> TypeProto.tensor_type {elem_type FLOAT, shape}.
	typ := msg(2, msg(1, varint(1, 1), msg(2, dims...)))
	node := msg(1, str(1, "x"), str(2, "y"), str(4, op))
	graph := msg(7, node, str(2, "g"), msg(11, str(1, "x"), typ), msg(12, str(1, "y"), typ))
	opset := msg(8, varint(2, 11))
	return append(append(varint(1, 7), graph...), opset...)
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{
		{ScoreThreshold: -0.1}, {ScoreThreshold: 1}, {NMSThreshold: 1.5},
		{Threads: -1}, {Batch: -1}, {Batch: 65}, {Backend: "tpu"},
		{Model: Spec{Name: "x", Layout: LayoutYOLOX, InputSize: 100, data: models.DefaultONNX}},
		{Model: Spec{Name: "x", Layout: "ssd", data: models.DefaultONNX}},
		{Model: Spec{Name: "x", Layout: LayoutPicoDet, Std: []float64{1, 0, 1}, data: models.DefaultONNX}},
	} {
		if d, err := New(o); err == nil {
			d.Close()
			t.Errorf("New(%+v): want an error", o)
		}
	}
}

func TestPool(t *testing.T) {
	p, err := NewPool(Options{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	if b, err := p.Batch(); err != nil || b != 1 {
		t.Fatalf("Batch() = %d, %v; want 1 on CPU", b, err)
	}
	img := readImage(t, "basketball1.png")
	d, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := d.Detect(img)
	d.Close()
	if err != nil || len(want) == 0 {
		t.Fatalf("reference detection: %v, %d detections", err, len(want))
	}

	// Parallel use: every caller must get the single-network answer.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := p.Detect(ctx, []gocv.Mat{img, img}, nil)
			if err != nil {
				errs <- err
				return
			}
			for _, g := range got {
				if len(g) != len(want) || g[0] != want[0] {
					errs <- errors.New("parallel result differs")
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// With both networks held, Submit waits; it goes through once one is free.
	hold := make(chan struct{})
	for range 2 {
		if err := p.Submit(ctx, []gocv.Mat{img}, nil, func([][]Detection, error) { <-hold }); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := p.Submit(short, []gocv.Mat{img}, nil, func([][]Detection, error) {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Submit with every network busy: err = %v, want deadline exceeded", err)
	}
	close(hold)
	if got, err := p.Detect(ctx, []gocv.Mat{img}, &Filter{Classes: []string{"sports ball"}}); err != nil || len(got[0]) >= len(want) {
		t.Fatalf("Detect after the networks came free: %v, %d detections (filtered), %d unfiltered", err, len(got[0]), len(want))
	}

	canceled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	if _, err := p.Detect(canceled, []gocv.Mat{img}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Detect with a canceled context: err = %v, want context.Canceled", err)
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Detect(ctx, []gocv.Mat{img}, nil); !errors.Is(err, ErrPoolClosed) {
		t.Errorf("Detect after Close: err = %v, want ErrPoolClosed", err)
	}
}

func TestNewPoolErrors(t *testing.T) {
	if _, err := NewPool(Options{}, 0); err == nil {
		t.Error("NewPool(n=0): want an error")
	}
	path := filepath.Join(t.TempDir(), "bad.onnx")
	if err := os.WriteFile(path, []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPool(Options{Model: SpecForFile(path, LayoutYOLOX)}, 1); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("NewPool with a bad model: error %v does not name %s", err, path)
	}
}

// BenchmarkDetect measures Detect (letterbox, forward, decode, NMS) on the
// first 50 frames of vtest.avi.
// BenchmarkDetect times Detect (letterbox, forward pass, decoding) per
// frame on each runtime, one session with the runtime's default threads;
// compare the two sub-benchmarks' ms/frame.
func BenchmarkDetect(b *testing.B) {
	var frames []gocv.Mat
	videoFrames(b, 49, func(int) bool { return true }, func(_ int, f gocv.Mat) {
		frames = append(frames, f.Clone())
	})
	defer func() {
		for _, f := range frames {
			f.Close()
		}
	}()
	for _, rt := range []string{RuntimeOpenCV, RuntimeONNX} {
		b.Run(rt, func(b *testing.B) {
			d := newTestDetector(b, Options{Runtime: rt})
			i := 0
			for b.Loop() {
				if _, err := d.Detect(frames[i%len(frames)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/frame")
		})
	}
}
