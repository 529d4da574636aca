package detector

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The fuzz targets here check specs, configs and filters only: nothing
// reads a model file, so no fuzzed input reaches OpenCV.

// FuzzSpec writes fuzzed JSON as a model spec file and reads it the way
// NewRegistry reads SIGHTLINE_MODELS_DIR; score and nms override the
// thresholds as Options (and the CLI's flags) do. A spec that is accepted
// must have every field in its documented range once defaults are filled.
func FuzzSpec(f *testing.F) {
	for _, js := range []string{
		`{"name": "mine", "file": "mine.onnx", "layout": "yolov8"}`,
		`{"file": "/abs/m.onnx", "layout": "picodet", "input_size": 320, "reg_max": 16, "classes_file": "names.txt"}`,
		`{"name": "x", "file": "m.onnx", "layout": "yolov5", "resize": "stretch", "pad": 0, "rgb": false, "scale": 0.5,
		  "mean": [1, 2, 3], "std": [4, 5, 6], "classes": ["a", "b"], "score_threshold": 0.25, "nms_threshold": 0.6}`,
		`{"name": "x", "file": "m.onnx", "input_size": 1073741824}`,
		`{"name": "x", "file": "m.onnx", "input_size": -32}`,
		`{"name": "x", "file": "m.onnx", "layout": "picodet", "reg_max": 9223372036854775807}`,
		`{"name": "x", "file": "m.onnx", "std": [1e-320, 1, 1]}`,
		`{"name": "x", "file": "m.onnx", "pad": 256}`,
		`{"name": "x", "file": "m.onnx", "score_threshold": 1}`,
		`{"name": "x", "file": "m.onnx", "unknown": 1}`,
		`{"name": "x", "file": "m.onnx"} {"name": "y"}`,
		`{"name": "x", "file": "m.onnx"}]`,
		`{"name": "x"}`,
		`null`,
		`[]`,
	} {
		f.Add(js, float32(0), float32(0))
	}
	f.Add(`{"name": "x", "file": "m.onnx"}`, float32(math.NaN()), float32(0))
	f.Add(`{"name": "x", "file": "m.onnx"}`, float32(0.5), float32(math.NaN()))
	f.Add(`{"name": "x", "file": "m.onnx"}`, float32(-0.1), float32(1.5))
	f.Fuzz(func(t *testing.T, js string, score, nms float32) {
		dir := t.TempDir()
		path := filepath.Join(dir, "fuzz.json")
		if err := os.WriteFile(path, []byte(js), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := readSpec(path)
		r, rerr := NewRegistry(dir)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("readSpec: %v, but NewRegistry: %v", err, rerr)
		}
		if err != nil {
			return
		}
		if !json.Valid([]byte(js)) {
			t.Fatalf("readSpec accepted %q, which is not one JSON document", js)
		}
		if got, err := r.Get(s.Name); err != nil || !reflect.DeepEqual(got, s) {
			t.Fatalf("registry has %+v, %v for spec %+v", got, err, s)
		}
		if s.File == "" || !(filepath.IsAbs(s.File) || strings.HasPrefix(s.File, dir)) {
			t.Fatalf("spec file %q is not under the spec's folder %s", s.File, dir)
		}
		w, err := s.withDefaults()
		if err != nil {
			t.Fatalf("readSpec accepted %s, but withDefaults: %v", js, err)
		}
		checkSpec(t, w)
		o, err := Options{Model: s, ScoreThreshold: score, NMSThreshold: nms}.withDefaults()
		if err != nil {
			return
		}
		checkSpec(t, o.Model)
		if score != 0 && o.Model.ScoreThreshold != score || nms != 0 && o.Model.NMSThreshold != nms {
			t.Fatalf("options score %v, nms %v became %v, %v", score, nms, o.Model.ScoreThreshold, o.Model.NMSThreshold)
		}
	})
}

// checkSpec checks the ranges withDefaults promises.
func checkSpec(t *testing.T, s Spec) {
	t.Helper()
	fin := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case s.Name == "":
		t.Fatalf("spec without a name: %+v", s)
	case s.Layout != LayoutYOLOX && s.Layout != LayoutYOLOv5 && s.Layout != LayoutYOLOv8 && s.Layout != LayoutPicoDet:
		t.Fatalf("layout %q", s.Layout)
	case s.InputSize < 32 || s.InputSize > maxInputSize || s.InputSize%32 != 0:
		t.Fatalf("input size %d", s.InputSize)
	case s.Resize != ResizeLetterbox && s.Resize != ResizeLetterboxCenter && s.Resize != ResizeStretch:
		t.Fatalf("resize %q", s.Resize)
	case s.Pad == nil || *s.Pad < 0 || *s.Pad > 255 || s.RGB == nil:
		t.Fatalf("pad %v, rgb %v", s.Pad, s.RGB)
	case !fin(s.Scale) || s.Scale == 0:
		t.Fatalf("scale %v", s.Scale)
	case len(s.Mean) != 3 || len(s.Std) != 3:
		t.Fatalf("mean %v, std %v", s.Mean, s.Std)
	case !(s.ScoreThreshold >= 0 && s.ScoreThreshold < 1):
		t.Fatalf("score threshold %v", s.ScoreThreshold)
	case !(s.NMSThreshold > 0 && s.NMSThreshold <= 1):
		t.Fatalf("NMS threshold %v", s.NMSThreshold)
	case s.RegMax < 0 || s.RegMax > maxRegMax || s.Layout == LayoutPicoDet && s.RegMax == 0:
		t.Fatalf("reg_max %d for %s", s.RegMax, s.Layout)
	case s.Classes == nil && s.ClassesFile == "":
		t.Fatalf("no class names")
	}
	for i := range 3 {
		if !fin(s.Mean[i]) || !fin(1/s.Std[i]) {
			t.Fatalf("mean %v, std %v", s.Mean, s.Std)
		}
	}
}

// testRegistry is the built-ins plus a model with inline class names
// (duplicates and blanks included) and one with a names file.
func testRegistry(f *testing.F) *Registry {
	dir := f.TempDir()
	files := map[string]string{
		"mine.json":  `{"name": "mine", "file": "mine.onnx", "layout": "yolov8", "classes": ["person", "car", "person", " ", ""]}`,
		"named.json": `{"name": "named", "file": "named.onnx", "layout": "yolov5", "classes_file": "names.txt"}`,
		"names.txt":  "cat\n\n  dog \nclass_7\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	r, err := NewRegistry(dir)
	if err != nil {
		f.Fatal(err)
	}
	return r
}

// fakeDetector holds just what thresholds reads: no network.
func fakeDetector(t *testing.T, s Spec, classes []string) *Detector {
	t.Helper()
	s, err := s.withDefaults()
	if err != nil {
		t.Fatalf("spec %s: %v", s.Name, err)
	}
	return &Detector{m: &model{spec: s, classes: classes}}
}

// FuzzConfig decodes a stream's detect settings as the API does (unknown
// fields refused) and checks them against a registry. Settings that pass
// must name a registered model and keep every score in range, and the
// detector must compile the filter the same way.
func FuzzConfig(f *testing.F) {
	r := testRegistry(f)
	for _, js := range []string{
		`{}`,
		`{"model": "mine", "filter": {"classes": ["person"], "min_score": 0.5}}`,
		`{"model": "named", "filter": {"classes": ["dog", "cat"], "class_min_score": {"dog": 0.9}}}`,
		`{"model": "named", "filter": {"classes": ["class_7"], "class_min_score": {"class_7": 0.1}}}`,
		`{"filter": {"class_min_score": {"person": 2}}}`,
		`{"filter": {"classes": ["unicorn"]}}`,
		`{"filter": {"min_score": 1}}`,
		`{"filter": {"min_score": -0}}`,
		`{"filter": {"min_score": 1e-46}}`,
		`{"filter": {"min_score": 1e39}}`,
		`{"filter": null}`,
		`{"model": "nope"}`,
		`{"model": "mine", "filter": {"classes": [""]}}`,
	} {
		f.Add(js)
	}
	f.Fuzz(func(t *testing.T, js string) {
		var c Config
		dec := json.NewDecoder(strings.NewReader(js))
		dec.DisallowUnknownFields()
		if dec.Decode(&c) != nil {
			return
		}
		err := r.Check(c)
		s, gerr := r.Get(c.Model)
		if gerr != nil {
			if err == nil {
				t.Fatalf("Check(%+v) passed an unknown model", c)
			}
			return
		}
		classes := s.Classes
		if s.ClassesFile != "" {
			if _, classes, gerr = (Spec{Name: s.Name, ClassesFile: s.ClassesFile, data: []byte{}}).load(); gerr != nil {
				t.Fatal(gerr)
			}
		} else if classes == nil {
			classes = mustCOCO(t)
		}
		checkFilter(t, fakeDetector(t, s, classes), c.Filter, err == nil)
	})
}

// mustCOCO returns the names a model without class names uses.
func mustCOCO(t *testing.T) []string {
	t.Helper()
	s, _ := Spec{Name: "coco", File: "x.onnx"}.withDefaults()
	if len(s.Classes) == 0 {
		t.Fatal("no default class names")
	}
	return s.Classes
}

// FuzzFilter checks a filter decoded from JSON against class names read
// as a names file is, and compiles it into per-class thresholds.
func FuzzFilter(f *testing.F) {
	f.Add("person\ncar\n", `{"classes": ["car"], "min_score": 0.2, "class_min_score": {"person": 0.7}}`)
	f.Add("person\nperson\n", `{"class_min_score": {"person": 0.999999}}`)
	f.Add("", `{"classes": []}`)
	f.Add("a\n", `{"classes": ["a", "a"], "class_min_score": {"a": 0}}`)
	f.Add("class_1\n", `{"classes": ["class_1"]}`)
	f.Fuzz(func(t *testing.T, names, js string) {
		var flt Filter
		dec := json.NewDecoder(strings.NewReader(js))
		dec.DisallowUnknownFields()
		if dec.Decode(&flt) != nil {
			return
		}
		classes := parseNames(names)
		err := flt.Validate(classes)
		d := fakeDetector(t, Spec{Name: "fuzz", File: "x.onnx", Classes: classes}, classes)
		checkFilter(t, d, &flt, err == nil)
	})
}

// checkFilter compiles flt on d and checks the thresholds against what
// the filter asks, given whether validation passed.
func checkFilter(t *testing.T, d *Detector, flt *Filter, valid bool) {
	t.Helper()
	lowest, err := d.thresholds(flt)
	if (err == nil) != valid {
		t.Fatalf("thresholds(%+v): %v, but validation passed: %v", flt, err, valid)
	}
	if err != nil {
		return
	}
	if flt == nil {
		if len(d.thr) != 0 || lowest != d.m.spec.ScoreThreshold {
			t.Fatalf("no filter: thresholds %v, lowest %v", d.thr, lowest)
		}
		return
	}
	if !(flt.MinScore >= 0 && flt.MinScore < 1) {
		t.Fatalf("filter with min_score %v passed", flt.MinScore)
	}
	known := map[string]bool{}
	for _, c := range d.m.classes {
		known[c] = true
	}
	listed := map[string]bool{}
	for _, c := range flt.Classes {
		if !known[c] {
			t.Fatalf("filter with unknown class %q passed", c)
		}
		listed[c] = true
	}
	for c, v := range flt.ClassMinScore {
		if !known[c] || !(v > 0 && v < 1) {
			t.Fatalf("filter with class_min_score[%q] = %v passed", c, v)
		}
	}
	if len(d.thr) != len(d.m.classes) {
		t.Fatalf("%d thresholds for %d classes", len(d.thr), len(d.m.classes))
	}
	inf := float32(math.Inf(1))
	want := min(lowest, d.thrBeyond)
	for id, thr := range d.thr {
		name := d.m.classes[id]
		switch {
		case len(listed) > 0 && !listed[name]:
			if thr != inf {
				t.Fatalf("class %q not listed has threshold %v", name, thr)
			}
		case !(thr >= 0 && thr < 1):
			t.Fatalf("class %q has threshold %v", name, thr)
		}
		want = min(want, thr)
	}
	if (len(listed) > 0) != (d.thrBeyond == inf) || lowest != want {
		t.Fatalf("lowest %v (want %v), beyond %v, for listed %v", lowest, want, d.thrBeyond, flt.Classes)
	}
}
