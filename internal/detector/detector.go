// Package detector runs a YOLOX object-detection ONNX model with OpenCV's DNN
// module (via gocv) on BGR images.
package detector

import (
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/models"
)

// Defaults applied by New for zero Options fields.
const (
	DefaultScoreThreshold float32 = 0.3
	DefaultNMSThreshold   float32 = 0.45
	DefaultInputSize              = 416
)

// padValue is the gray YOLOX was trained with for letterbox padding.
const padValue = 114

// Detection is one detected object.
type Detection struct {
	ClassID int     `json:"class_id"`
	Class   string  `json:"class"`
	Score   float32 `json:"score"`
	// Box is x1, y1, x2, y2 in original image pixels, clipped to the image.
	Box [4]float32 `json:"box"`
}

// Options configures a Detector. The zero value runs the embedded default
// model with the default thresholds.
type Options struct {
	// ModelPath is a YOLOX ONNX file; empty means the embedded
	// models.DefaultONNX.
	ModelPath string
	// ScoreThreshold keeps detections with obj*cls above it; 0 means 0.3.
	ScoreThreshold float32
	// NMSThreshold is the per-class IoU above which the lower-scoring box
	// is dropped; 0 means 0.45.
	NMSThreshold float32
	// Threads sets OpenCV's worker-thread count; 0 leaves OpenCV's default.
	// OpenCV only has a process-wide setting, so this affects every
	// Detector (and all other OpenCV work) in the process.
	Threads int
	// InputSize is the model's square input size; 0 means 416. Only needed
	// for YOLOX models exported at another resolution.
	InputSize int
}

// withDefaults fills zero fields and rejects out-of-range values.
func (o Options) withDefaults() (Options, error) {
	if o.ScoreThreshold == 0 {
		o.ScoreThreshold = DefaultScoreThreshold
	}
	if o.NMSThreshold == 0 {
		o.NMSThreshold = DefaultNMSThreshold
	}
	if o.InputSize == 0 {
		o.InputSize = DefaultInputSize
	}
	switch {
	case o.ScoreThreshold < 0 || o.ScoreThreshold >= 1:
		return o, fmt.Errorf("score threshold %v out of range [0,1)", o.ScoreThreshold)
	case o.NMSThreshold < 0 || o.NMSThreshold > 1:
		return o, fmt.Errorf("NMS threshold %v out of range (0,1]", o.NMSThreshold)
	case o.Threads < 0:
		return o, fmt.Errorf("threads %d is negative", o.Threads)
	case o.InputSize < 32 || o.InputSize%32 != 0:
		return o, fmt.Errorf("input size %d is not a positive multiple of 32", o.InputSize)
	}
	return o, nil
}

// model is a validated ONNX file in memory, ready to hand to OpenCV.
type model struct {
	name string
	data []byte
}

// loadModel reads and checks the model named by opts. The error names the
// file so that a bad --model flag is easy to spot.
func loadModel(opts Options) (model, error) {
	if opts.ModelPath == "" {
		m := model{name: models.DefaultName, data: models.DefaultONNX}
		// The embedded model is tested at its native size; probe only
		// when asked to run it at another one.
		if opts.InputSize != DefaultInputSize {
			if err := checkModel(m.data, opts.InputSize); err != nil {
				return model{}, fmt.Errorf("embedded model %s: %w", m.name, err)
			}
		}
		return m, nil
	}
	data, err := os.ReadFile(opts.ModelPath)
	if err != nil {
		return model{}, fmt.Errorf("read model: %w", err)
	}
	if err := ValidateONNX(data); err != nil {
		return model{}, fmt.Errorf("model %s: %w", opts.ModelPath, err)
	}
	if err := checkModel(data, opts.InputSize); err != nil {
		return model{}, fmt.Errorf("model %s: %w", opts.ModelPath, err)
	}
	name := strings.TrimSuffix(filepath.Base(opts.ModelPath), filepath.Ext(opts.ModelPath))
	return model{name: name, data: data}, nil
}

// checkModel does a trial load and forward pass with C++ exceptions caught
// (see probeONNX) and checks that the output has the YOLOX layout for the
// input size, so that Detect itself can never make OpenCV throw.
func checkModel(data []byte, inputSize int) error {
	shape, err := probeONNX(data, inputSize)
	if err != nil {
		return err
	}
	rows := gridRows(inputSize)
	if len(shape) != 3 || shape[0] != 1 || shape[1] != rows || shape[2] < 6 {
		return fmt.Errorf("output shape %v is not a YOLOX output for a %dx%d input, want [1 %d 5+classes]",
			shape, inputSize, inputSize, rows)
	}
	return nil
}

// Detector runs one YOLOX network. It keeps its letterbox canvas and input
// blob between calls to avoid per-frame allocations, so a Detector is NOT safe
// for concurrent use: give each goroutine its own, e.g. through a Pool.
type Detector struct {
	opts  Options
	name  string
	net   gocv.Net
	input []gocv.Mat // single-element slice over canvas, reused for BlobFromImages

	canvas gocv.Mat // InputSize x InputSize CV_8UC3, padded with 114
	blob   gocv.Mat // 1x3xSxS CV_32F
	bgr    gocv.Mat // scratch for gray/BGRA input converted to BGR
	cands  []candidate
	closed bool
}

// New loads the model and prepares a Detector. A model file is first checked
// with ValidateONNX and then by a trial run with C++ exceptions caught, so a
// bad file is an error naming it rather than an OpenCV abort.
func New(opts Options) (*Detector, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("detector options: %w", err)
	}
	m, err := loadModel(opts)
	if err != nil {
		return nil, err
	}
	return newDetector(opts, m)
}

// newDetector builds a Detector from an already validated model, so a Pool
// reads and checks the file only once.
func newDetector(opts Options, m model) (*Detector, error) {
	if opts.Threads > 0 {
		setNumThreads(opts.Threads)
	}
	net, err := gocv.ReadNetFromONNXBytes(m.data)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", m.name, err)
	}
	if net.Empty() {
		net.Close()
		return nil, fmt.Errorf("load model %s: OpenCV returned an empty network", m.name)
	}
	// gocv returns these errors only for unknown enum values; the defaults
	// are explicit so a future OpenCV with other defaults keeps CPU behavior.
	if err := net.SetPreferableBackend(gocv.NetBackendDefault); err != nil {
		net.Close()
		return nil, fmt.Errorf("model %s: set backend: %w", m.name, err)
	}
	if err := net.SetPreferableTarget(gocv.NetTargetCPU); err != nil {
		net.Close()
		return nil, fmt.Errorf("model %s: set target: %w", m.name, err)
	}
	s := opts.InputSize
	d := &Detector{
		opts:   opts,
		name:   m.name,
		net:    net,
		canvas: gocv.NewMatWithSizeFromScalar(gocv.NewScalar(padValue, padValue, padValue, 0), s, s, gocv.MatTypeCV8UC3),
		blob:   gocv.NewMat(),
		bgr:    gocv.NewMat(),
	}
	d.input = []gocv.Mat{d.canvas}
	return d, nil
}

// ModelName is the model's name: models.DefaultName for the embedded model,
// otherwise the file name without extension.
func (d *Detector) ModelName() string { return d.name }

// Detect runs the model on img (8-bit BGR; gray and BGRA are converted) and
// returns the detections sorted by descending score. It never returns nil on
// success, so an empty result marshals as [].
func (d *Detector) Detect(img gocv.Mat) ([]Detection, error) {
	if d.closed {
		return nil, errors.New("detect: detector is closed")
	}
	if img.Empty() {
		return nil, errors.New("detect: empty image")
	}
	src := img
	switch img.Type() {
	case gocv.MatTypeCV8UC3:
	case gocv.MatTypeCV8UC1:
		gocv.CvtColor(img, &d.bgr, gocv.ColorGrayToBGR)
		src = d.bgr
	case gocv.MatTypeCV8UC4:
		gocv.CvtColor(img, &d.bgr, gocv.ColorBGRAToBGR)
		src = d.bgr
	default:
		return nil, fmt.Errorf("detect: unsupported image type %v (want 8-bit BGR, BGRA or gray)", img.Type())
	}

	scale := d.letterbox(src)
	gocv.BlobFromImages(d.input, &d.blob, 1.0, image.Pt(d.opts.InputSize, d.opts.InputSize),
		gocv.NewScalar(0, 0, 0, 0), false, false, gocv.MatTypeCV32F)
	d.net.SetInput(d.blob, "")
	out := d.net.Forward("")
	defer out.Close()

	if out.Empty() {
		return nil, fmt.Errorf("detect: model %s produced no output", d.name)
	}
	dims := out.Size()
	if len(dims) != 3 || dims[0] != 1 {
		return nil, fmt.Errorf("detect: model %s output shape %v, want [1, rows, 5+classes]", d.name, dims)
	}
	data, err := out.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("detect: model %s output: %w", d.name, err)
	}
	d.cands, err = decodeYOLOX(d.cands[:0], data, dims[2], d.opts.InputSize, float32(scale), d.opts.ScoreThreshold)
	if err != nil {
		return nil, fmt.Errorf("detect: model %s: %w", d.name, err)
	}
	kept := nmsPerClass(d.cands, d.opts.NMSThreshold)
	// COCO names only make sense for an 80-class model.
	coco := dims[2]-5 == len(models.COCONames)

	w, h := float32(src.Cols()), float32(src.Rows())
	dets := make([]Detection, 0, len(kept))
	for _, c := range kept {
		dets = append(dets, Detection{
			ClassID: c.class,
			Class:   className(c.class, coco),
			Score:   c.score,
			Box: [4]float32{
				clamp(c.box[0], 0, w), clamp(c.box[1], 0, h),
				clamp(c.box[2], 0, w), clamp(c.box[3], 0, h),
			},
		})
	}
	return dets, nil
}

// letterbox resizes src into the top-left corner of the reused canvas
// (INTER_LINEAR, aspect ratio kept, rest filled with 114), as YOLOX was
// trained, and returns the scale factor r.
func (d *Detector) letterbox(src gocv.Mat) float64 {
	s := d.opts.InputSize
	w, h := src.Cols(), src.Rows()
	r := math.Min(float64(s)/float64(h), float64(s)/float64(w))
	// RoundToEven matches Python's round() used by the reference pipeline.
	nw := min(max(int(math.RoundToEven(float64(w)*r)), 1), s)
	nh := min(max(int(math.RoundToEven(float64(h)*r)), 1), s)

	d.canvas.SetTo(gocv.NewScalar(padValue, padValue, padValue, 0))
	roi := d.canvas.Region(image.Rect(0, 0, nw, nh))
	// The ROI already has the target size and type, so cv::resize writes
	// straight into the canvas instead of allocating.
	gocv.Resize(src, &roi, image.Pt(nw, nh), 0, 0, gocv.InterpolationLinear)
	roi.Close()
	return r
}

// Close releases the network and the reused Mats. It is safe to call twice.
func (d *Detector) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	d.canvas.Close()
	d.blob.Close()
	d.bgr.Close()
	return d.net.Close()
}

// className maps a class id to its COCO name, or "class_N" for models
// trained on other class lists.
func className(id int, coco bool) string {
	if coco && id >= 0 && id < len(models.COCONames) {
		return models.COCONames[id]
	}
	return fmt.Sprintf("class_%d", id)
}

func clamp(v, lo, hi float32) float32 { return min(max(v, lo), hi) }
