package detector

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/models"
)

func picoDet(t testing.TB) Spec {
	t.Helper()
	r, err := NewRegistry("")
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Get(models.PicoDetName)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPicoDetReference checks the embedded PicoDet against the detections in
// picodet_s_416_coco_opset10.PROVENANCE.txt (score > 0.3 there, so the
// threshold is lowered to match).
func TestPicoDetReference(t *testing.T) {
	d := newTestDetector(t, Options{Model: picoDet(t), ScoreThreshold: 0.3})
	dets, err := d.Detect(readImage(t, "messi5.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	requireRefs(t, dets, []refDet{
		{"person", 0.95, [4]float32{63, 59, 455, 337}},
		{"sports ball", 0.86, [4]float32{337, 289, 388, 335}},
	})
	// The player and 16 spectators in the reference; scores near the
	// threshold may tip either way.
	requireClass(t, dets, "person", 16, 19, 0.30, 0.95)

	dets, err = d.Detect(readImage(t, "basketball1.png"))
	if err != nil {
		t.Fatal(err)
	}
	requireRefs(t, dets, []refDet{{"person", 0.94, [4]float32{31, 80, 167, 479}}})
	requireClass(t, dets, "person", 2, 2, 0.49, 0.94)
	requireClass(t, dets, "dining table", 1, 1, 0.36, 0.36)
	requireClass(t, dets, "bowl", 1, 1, 0.34, 0.34)
}

// TestPicoDetVideo: every 5th vtest frame at the model's own threshold 0.4
// gives the provenance file's mean of 6.96 persons per frame (min 2, max 12).
// Frame 200 has the persons listed there down to 0.42.
func TestPicoDetVideo(t *testing.T) {
	d := newTestDetector(t, Options{Model: picoDet(t)})
	n, persons, lo, hi := 0, 0, math.MaxInt, 0
	videoFrames(t, -1, func(i int) bool { return i%5 == 0 }, func(i int, frame gocv.Mat) {
		dets, err := d.Detect(frame)
		if err != nil {
			t.Fatal(err)
		}
		p := 0
		for _, x := range dets {
			if x.Class == "person" {
				p++
			}
		}
		if i == 200 {
			requireClass(t, dets, "person", 8, 10, 0.42, 0.78)
		}
		n, persons, lo, hi = n+1, persons+p, min(lo, p), max(hi, p)
	})
	mean := float64(persons) / float64(n)
	if n != 159 || math.Abs(mean-6.96) > 0.05 || lo != 2 || hi != 12 {
		t.Errorf("%d frames, mean %.2f persons (min %d, max %d); want 159 frames, mean 6.96 (min 2, max 12)", n, mean, lo, hi)
	}
}

// TestBatchMatchesSingle runs the same frames one by one and in batches: the
// YOLOX unbatching must give identical detections. The graph's batch is
// fixed at 1, which OpenCV stretches and ONNX Runtime does not.
func TestBatchMatchesSingle(t *testing.T) {
	single := newTestDetector(t, Options{Runtime: RuntimeOpenCV})
	batched := newTestDetector(t, Options{Batch: 4, Runtime: RuntimeOpenCV})
	if batched.Batch() != 4 {
		t.Fatalf("Batch() = %d (%v), want 4", batched.Batch(), batched.BatchError())
	}
	var frames []gocv.Mat
	videoFrames(t, 60, func(i int) bool { return i%10 == 0 }, func(_ int, f gocv.Mat) {
		frames = append(frames, f.Clone())
	})
	messi := readImage(t, "messi5.jpg")
	frames = append(frames, messi.Clone()) // another size in the same batch
	defer closeMats(frames)
	got, err := batched.DetectBatch(frames, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(frames) {
		t.Fatalf("%d results for %d frames", len(got), len(frames))
	}
	for i, f := range frames {
		want, err := single.Detect(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 || len(got[i]) != len(want) {
			t.Fatalf("frame %d: batched %s, single %s", i, formatDets(got[i]), formatDets(want))
		}
		for j := range want {
			if got[i][j].Class != want[j].Class || abs32(got[i][j].Score-want[j].Score) > 1e-4 || iou(got[i][j].Box, want[j].Box) < 0.999 {
				t.Errorf("frame %d det %d: batched %+v, single %+v", i, j, got[i][j], want[j])
			}
		}
	}
}

// TestBatchRefusedWhenGraphCannot: PicoDet's graph fails on a batch in
// OpenCV 4.6, so the detector falls back to one frame per pass and says why.
func TestBatchRefusedWhenGraphCannot(t *testing.T) {
	d := newTestDetector(t, Options{Model: picoDet(t), Batch: 4})
	if d.Batch() != 1 || d.BatchError() == nil {
		t.Fatalf("Batch() = %d, error %v; want 1 and a reason", d.Batch(), d.BatchError())
	}
	img := readImage(t, "messi5.jpg")
	res, err := d.DetectBatch([]gocv.Mat{img, img, img}, nil)
	if err != nil || len(res) != 3 || len(res[2]) == 0 {
		t.Fatalf("DetectBatch: %d results, %v", len(res), err)
	}
}

func TestFilter(t *testing.T) {
	d := newTestDetector(t, Options{})
	img := readImage(t, "messi5.jpg")
	all, err := d.Detect(img)
	if err != nil {
		t.Fatal(err)
	}
	detect := func(f Filter) []Detection {
		t.Helper()
		res, err := d.DetectBatch([]gocv.Mat{img}, &f)
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	count := func(dets []Detection, class string, min float32) int {
		n := 0
		for _, x := range dets {
			if x.Class == class && x.Score > min {
				n++
			}
		}
		return n
	}
	// Only the ball.
	if got := detect(Filter{Classes: []string{"sports ball"}}); len(got) != 1 || got[0].Class != "sports ball" {
		t.Errorf("classes [sports ball]: got %s", formatDets(got))
	}
	// A per-class threshold above the model's keeps only the confident persons.
	got := detect(Filter{ClassMinScore: map[string]float32{"person": 0.7}})
	if count(got, "person", 0) != count(all, "person", 0.7) || count(got, "sports ball", 0) != 1 {
		t.Errorf("person >= 0.7: got %s from %s", formatDets(got), formatDets(all))
	}
	// A threshold below the model's finds more than the default.
	low := detect(Filter{MinScore: 0.1})
	if len(low) <= len(all) {
		t.Errorf("min_score 0.1: %d detections, the default 0.3 gives %d", len(low), len(all))
	}
	for _, bad := range []Filter{
		{Classes: []string{"unicorn"}},
		{ClassMinScore: map[string]float32{"person": 1.5}},
		{MinScore: -1},
	} {
		if _, err := d.DetectBatch([]gocv.Mat{img}, &bad); err == nil {
			t.Errorf("filter %+v: want an error", bad)
		}
	}
}

func TestRegistry(t *testing.T) {
	dir := t.TempDir()
	onnx := filepath.Join(dir, "mine.onnx")
	if err := os.WriteFile(onnx, models.DefaultONNX, 0o644); err != nil {
		t.Fatal(err)
	}
	names := filepath.Join(dir, "mine.names")
	if err := os.WriteFile(names, []byte(strings.Join(models.COCONames, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := `{"name": "mine", "file": "mine.onnx", "layout": "yolox", "classes_file": "mine.names", "score_threshold": 0.5}`
	if err := os.WriteFile(filepath.Join(dir, "mine.json"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := NewRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Names(), ","); got != "mine,picodet_s_416_coco,yolox_nano_416_coco" {
		t.Errorf("Names() = %s", got)
	}
	s, err := r.Get("mine")
	if err != nil {
		t.Fatal(err)
	}
	d := newTestDetector(t, Options{Model: s})
	dets, err := d.Detect(readImage(t, "messi5.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range dets {
		if x.Score <= 0.5 {
			t.Errorf("score_threshold 0.5 from the spec: got %+v", x)
		}
	}
	if err := r.Check(Config{Model: "mine", Filter: &Filter{Classes: []string{"person"}}}); err != nil {
		t.Errorf("Check: %v", err)
	}
	if err := r.Check(Config{Model: "nope"}); err == nil || !strings.Contains(err.Error(), "unknown model") {
		t.Errorf("unknown model: %v", err)
	}

	// RegistryFor with a path makes that file the default.
	r2, err := RegistryFor("", onnx, LayoutYOLOX)
	if err != nil || r2.Default() != "mine" {
		t.Fatalf("RegistryFor(path): default %q, %v", r2.Default(), err)
	}
	if _, err := RegistryFor("", "nope", LayoutYOLOX); err == nil {
		t.Error("RegistryFor(unknown name): want an error")
	}

	// Bad specs name the file.
	for name, body := range map[string]string{
		"badjson.json": `{"name": `,
		"unknown.json": `{"name": "x", "file": "x.onnx", "colour": 1}`,
		"layout.json":  `{"name": "x", "file": "x.onnx", "layout": "ssd"}`,
		"nofile.json":  `{"name": "x"}`,
	} {
		bad := t.TempDir()
		p := filepath.Join(bad, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := NewRegistry(bad); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
	if _, err := NewRegistry(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing models dir: want an error")
	}
}

// TestModelsKeepServing: a registered model whose file is corrupt fails the
// calls that ask for it, with the file named, and the default keeps working.
func TestModelsKeepServing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "broken.onnx")
	if err := os.WriteFile(path, models.DefaultONNX[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"name":"broken","file":"broken.onnx"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := NewRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModels(r, Options{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for range 2 {
		if _, err := m.Pool("broken"); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("broken model: error %v does not name %s", err, path)
		}
		p, err := m.Pool("")
		if err != nil {
			t.Fatal(err)
		}
		dets, err := p.Detect(t.Context(), []gocv.Mat{readImage(t, "messi5.jpg")}, nil)
		if err != nil || len(dets[0]) == 0 {
			t.Fatalf("default model after a broken one: %v, %v", err, dets)
		}
	}
}

func closeMats(ms []gocv.Mat) {
	for _, m := range ms {
		m.Close()
	}
}
