package detector

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sightline-video/sightline/internal/detectconf"
	"github.com/sightline-video/sightline/internal/models"
)

// Layout names a family of detection heads: how the network's outputs are
// laid out and decoded.
type Layout string

const (
	// LayoutYOLOX: one output [1, rows, 5+C] over strides 8/16/32, raw
	// tx, ty, tw, th relative to the grid, then obj and class scores.
	LayoutYOLOX Layout = "yolox"
	// LayoutYOLOv5: one output [1, N, 5+C] of cx, cy, w, h in input pixels,
	// obj and class scores (YOLOv5, YOLOv7 exports).
	LayoutYOLOv5 Layout = "yolov5"
	// LayoutYOLOv8: one output [1, 4+C, N] of cx, cy, w, h in input pixels
	// and class scores, no objectness (YOLOv8, YOLO11). A transposed
	// [1, N, 4+C] export is accepted too.
	LayoutYOLOv8 Layout = "yolov8"
	// LayoutPicoDet: per stride, class scores [1, cells, C] and box
	// distributions [1, cells, 4*(reg_max+1)] (PP-PicoDet without
	// post-processing).
	LayoutPicoDet Layout = "picodet"
)

// Resize is how a frame is fitted to the model's square input.
type Resize string

const (
	// ResizeLetterbox keeps the aspect ratio and pastes the frame at the
	// top-left corner of a padded canvas (YOLOX).
	ResizeLetterbox Resize = "letterbox"
	// ResizeLetterboxCenter keeps the aspect ratio and centres the frame
	// (YOLOv5/v8 "LetterBox").
	ResizeLetterboxCenter Resize = "letterbox_center"
	// ResizeStretch resizes to the input size, ignoring the aspect ratio
	// (PicoDet keep_ratio=False).
	ResizeStretch Resize = "stretch"
)

// Spec describes a detection model: its file, how to preprocess frames for
// it, how to decode its outputs and what its classes are called. Zero fields
// take the defaults of the layout (see withDefaults), so a user's config can
// be as short as {"name": "...", "file": "...", "layout": "yolov8"}.
type Spec struct {
	Name      string    `json:"name"`
	File      string    `json:"file,omitempty"` // ONNX path; relative to the config file's folder
	Layout    Layout    `json:"layout"`
	InputSize int       `json:"input_size,omitempty"` // square input side, a multiple of 32
	Resize    Resize    `json:"resize,omitempty"`
	Pad       *int      `json:"pad,omitempty"`   // letterbox fill value
	RGB       *bool     `json:"rgb,omitempty"`   // feed RGB instead of OpenCV's BGR
	Scale     float64   `json:"scale,omitempty"` // input = (pixel - mean) * scale / std
	Mean      []float64 `json:"mean,omitempty"`  // per input channel (after any RGB swap)
	Std       []float64 `json:"std,omitempty"`   // per input channel
	// Classes names the classes by id; ClassesFile is a names file (one per
	// line) instead. Neither means COCO-80.
	Classes        []string `json:"classes,omitempty"`
	ClassesFile    string   `json:"classes_file,omitempty"`
	ScoreThreshold float32  `json:"score_threshold,omitempty"`
	NMSThreshold   float32  `json:"nms_threshold,omitempty"`
	// RegMax is PicoDet's distribution size minus one (7 for 8 bins).
	RegMax int `json:"reg_max,omitempty"`

	data []byte // embedded model bytes, for the built-ins
}

// DefaultModel is the name of the model used when none is chosen.
const DefaultModel = models.DefaultName

// Builtin returns the specs of the models embedded in the binary.
func Builtin() []Spec {
	return []Spec{
		{Name: models.DefaultName, Layout: LayoutYOLOX, data: models.DefaultONNX},
		{Name: models.PicoDetName, Layout: LayoutPicoDet, data: models.PicoDetONNX},
	}
}

func ptr[T any](v T) *T { return &v }

// Bounds of a spec's integer fields. Published detection exports take
// inputs of 320 to 1536; a 4096 input already makes a 200 MB blob per
// frame, and larger sides overflow OpenCV's sizes or exhaust memory.
// PicoDet and GFL heads use reg_max 7 or 16.
const (
	maxInputSize = 4096
	maxRegMax    = 64
)

// finite reports whether every v is neither NaN nor infinite.
func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// withDefaults fills the zero fields from the layout's conventions and checks
// the result.
func (s Spec) withDefaults() (Spec, error) {
	if s.Layout == "" {
		s.Layout = LayoutYOLOX
	}
	if s.InputSize == 0 {
		s.InputSize = DefaultInputSize
	}
	// Conventions of the reference exports of each family.
	var (
		resize = ResizeLetterboxCenter
		rgb    = true
		scale  = 1.0 / 255
		score  = DefaultScoreThreshold
		mean   = []float64{0, 0, 0}
		std    = []float64{1, 1, 1}
	)
	switch s.Layout {
	case LayoutYOLOX:
		resize, rgb, scale = ResizeLetterbox, false, 1
	case LayoutYOLOv5, LayoutYOLOv8:
	case LayoutPicoDet:
		resize, scale, score = ResizeStretch, 1, 0.4
		mean = []float64{123.675, 116.28, 103.53}
		std = []float64{58.395, 57.12, 57.375}
		if s.RegMax == 0 {
			s.RegMax = 7
		}
	default:
		return s, fmt.Errorf("model %s: unknown layout %q (want yolox, yolov5, yolov8 or picodet)", s.Name, s.Layout)
	}
	if s.Resize == "" {
		s.Resize = resize
	}
	if s.Pad == nil {
		s.Pad = ptr(padValue)
	}
	if s.RGB == nil {
		s.RGB = ptr(rgb)
	}
	if s.Scale == 0 {
		s.Scale = scale
	}
	if s.Mean == nil {
		s.Mean = mean
	}
	if s.Std == nil {
		s.Std = std
	}
	if s.ScoreThreshold == 0 {
		s.ScoreThreshold = score
	}
	if s.NMSThreshold == 0 {
		s.NMSThreshold = DefaultNMSThreshold
	}
	if s.Classes == nil && s.ClassesFile == "" {
		s.Classes = models.COCONames
	}
	switch {
	case s.Name == "":
		return s, fmt.Errorf("model %s: no name", s.File)
	case s.InputSize < 32 || s.InputSize > maxInputSize || s.InputSize%32 != 0:
		return s, fmt.Errorf("model %s: input size %d is not a multiple of 32 in 32..%d", s.Name, s.InputSize, maxInputSize)
	case s.Resize != ResizeLetterbox && s.Resize != ResizeLetterboxCenter && s.Resize != ResizeStretch:
		return s, fmt.Errorf("model %s: unknown resize %q (want letterbox, letterbox_center or stretch)", s.Name, s.Resize)
	case *s.Pad < 0 || *s.Pad > 255:
		return s, fmt.Errorf("model %s: pad %d out of range 0..255", s.Name, *s.Pad)
	case len(s.Mean) != 3 || len(s.Std) != 3:
		return s, fmt.Errorf("model %s: mean and std need 3 values each", s.Name)
	case s.Std[0] == 0 || s.Std[1] == 0 || s.Std[2] == 0:
		return s, fmt.Errorf("model %s: std has a zero", s.Name)
	case !finite(s.Scale, s.Mean[0], s.Mean[1], s.Mean[2], 1/s.Std[0], 1/s.Std[1], 1/s.Std[2]):
		return s, fmt.Errorf("model %s: scale %v, mean %v or std %v is not finite (or std is too close to 0)", s.Name, s.Scale, s.Mean, s.Std)
	// Written so that NaN, which compares false with everything, fails.
	case !(s.ScoreThreshold >= 0 && s.ScoreThreshold < 1):
		return s, fmt.Errorf("model %s: score threshold %v out of range [0,1)", s.Name, s.ScoreThreshold)
	case !(s.NMSThreshold > 0 && s.NMSThreshold <= 1):
		return s, fmt.Errorf("model %s: NMS threshold %v out of range (0,1]", s.Name, s.NMSThreshold)
	case s.RegMax < 0 || s.RegMax > maxRegMax:
		return s, fmt.Errorf("model %s: reg_max %d out of range 0..%d", s.Name, s.RegMax, maxRegMax)
	case s.File == "" && s.data == nil:
		return s, fmt.Errorf("model %s: no file", s.Name)
	}
	return s, nil
}

// load reads the model and class names and validates the ONNX bytes before
// OpenCV sees them. Errors name the file.
func (s Spec) load() ([]byte, []string, error) {
	classes := s.Classes
	if s.ClassesFile != "" {
		b, err := os.ReadFile(s.ClassesFile)
		if err != nil {
			return nil, nil, fmt.Errorf("model %s: read class names: %w", s.Name, err)
		}
		classes = parseNames(string(b))
		if len(classes) == 0 {
			return nil, nil, fmt.Errorf("model %s: class names file %s is empty", s.Name, s.ClassesFile)
		}
	}
	if s.data != nil {
		return s.data, classes, nil
	}
	data, err := os.ReadFile(s.File)
	if err != nil {
		return nil, nil, fmt.Errorf("model %s: read model: %w", s.Name, err)
	}
	if err := ValidateONNX(data); err != nil {
		return nil, nil, fmt.Errorf("model %s: %s: %w", s.Name, s.File, err)
	}
	return data, classes, nil
}

// source says where the model comes from, for errors and logs.
func (s Spec) source() string {
	if s.File != "" {
		return s.File
	}
	return "embedded " + s.Name
}

func parseNames(s string) []string {
	var names []string
	for _, line := range strings.Split(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, line)
		}
	}
	return names
}

// SpecForFile describes a user's ONNX file of the given layout with that
// layout's defaults; the name is the file name without extension.
func SpecForFile(path string, layout Layout) Spec {
	return Spec{
		Name:   strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)),
		File:   path,
		Layout: layout,
	}
}

// Registry is the set of models a worker can run, by name: the built-ins
// plus any described in a models folder.
type Registry struct {
	specs map[string]Spec
	def   string
}

// NewRegistry returns the built-in models plus, when dir is not empty, every
// *.json spec in dir (one Spec per file; a spec's file and classes_file are
// relative to dir). A spec may replace a built-in of the same name. Specs are
// checked here; the model files themselves when a detector is created.
func NewRegistry(dir string) (*Registry, error) {
	r := &Registry{specs: map[string]Spec{}, def: DefaultModel}
	for _, s := range Builtin() {
		r.specs[s.Name] = s
	}
	if dir == "" {
		return r, nil
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("models dir %s: %w", dir, err)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("models dir: %w", err)
	}
	for _, p := range paths {
		s, err := readSpec(p)
		if err != nil {
			return nil, err
		}
		r.specs[s.Name] = s
	}
	return r, nil
}

func readSpec(path string) (Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("model spec: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return Spec{}, fmt.Errorf("model spec %s: %w", path, err)
	}
	// Decode stops after the first value; a second one means a damaged or
	// concatenated file.
	if _, err := dec.Token(); err != io.EOF {
		return Spec{}, fmt.Errorf("model spec %s: data after the spec object", path)
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), ".json")
	}
	dir := filepath.Dir(path)
	for _, f := range []*string{&s.File, &s.ClassesFile} {
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(dir, *f)
		}
	}
	if s.File == "" {
		return Spec{}, fmt.Errorf("model spec %s: no \"file\"", path)
	}
	if _, err := s.withDefaults(); err != nil {
		return Spec{}, fmt.Errorf("model spec %s: %w", path, err)
	}
	return s, nil
}

// Add registers s (replacing a model of the same name) after checking it.
func (r *Registry) Add(s Spec) error {
	if _, err := s.withDefaults(); err != nil {
		return err
	}
	r.specs[s.Name] = s
	return nil
}

// SetDefault makes name the model Get("") returns.
func (r *Registry) SetDefault(name string) error {
	if _, ok := r.specs[name]; !ok {
		return fmt.Errorf("default model: unknown model %q (have %s)", name, strings.Join(r.Names(), ", "))
	}
	r.def = name
	return nil
}

// Default is the name of the default model.
func (r *Registry) Default() string { return r.def }

// Get returns the spec named name; "" is the default model.
func (r *Registry) Get(name string) (Spec, error) {
	if name == "" {
		name = r.def
	}
	s, ok := r.specs[name]
	if !ok {
		return Spec{}, fmt.Errorf("unknown model %q (have %s)", name, strings.Join(r.Names(), ", "))
	}
	return s, nil
}

// Names lists the registered models, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.specs))
	for n := range r.specs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RegistryFor builds the registry a process serves: the built-ins, the specs
// in dir, and a default model given as a registry name or as the path of an
// .onnx file of the given layout (empty: the embedded YOLOX-Nano).
func RegistryFor(dir, model string, layout Layout) (*Registry, error) {
	r, err := NewRegistry(dir)
	if err != nil {
		return nil, err
	}
	switch {
	case model == "":
	case strings.HasSuffix(strings.ToLower(model), ".onnx"):
		s := SpecForFile(model, layout)
		if err := r.Add(s); err != nil {
			return nil, err
		}
		if err := r.SetDefault(s.Name); err != nil {
			return nil, err
		}
	default:
		if err := r.SetDefault(model); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Config is a stream's or a capture's detection settings (see detectconf.Config).
type Config = detectconf.Config

// Check checks that the config's model is registered and its filter names
// the model's classes, without loading the model.
func (r *Registry) Check(c Config) error {
	s, err := r.Get(c.Model)
	if err != nil {
		return err
	}
	if c.Filter == nil {
		return nil
	}
	classes, err := r.Classes(s.Name)
	if err != nil {
		return err
	}
	if err := c.Filter.Validate(classes); err != nil {
		return fmt.Errorf("model %s: %w", s.Name, err)
	}
	return nil
}

// Classes lists the class names of a model ("" is the default), without
// loading the network.
func (r *Registry) Classes(name string) ([]string, error) {
	s, err := r.Get(name)
	if err != nil {
		return nil, err
	}
	switch {
	case s.ClassesFile != "":
		_, classes, err := (Spec{Name: s.Name, ClassesFile: s.ClassesFile, data: []byte{}}).load()
		return classes, err
	case s.Classes != nil:
		return s.Classes, nil
	}
	return models.COCONames, nil
}
