// Package detector runs object-detection ONNX models (YOLOX, YOLOv5,
// YOLOv8/YOLO11 and PicoDet layouts, see Spec) with OpenCV's DNN module via
// gocv, on single frames or batches of them.
package detector

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/detectconf"
	"github.com/sightline-video/sightline/internal/detection"
)

// Defaults applied for zero Options and Spec fields.
const (
	DefaultScoreThreshold float32 = 0.3
	DefaultNMSThreshold   float32 = 0.45
	DefaultInputSize              = 416
)

// padValue is the gray the YOLO family was trained with for letterbox padding.
const padValue = 114

// Backends a Detector can run on.
const (
	BackendCPU  = "cpu"
	BackendCUDA = "cuda"
	// BackendTensorRT is ONNX Runtime's TensorRT provider, with its CUDA
	// provider running what TensorRT does not take.
	BackendTensorRT = "tensorrt"
)

// Detection is one detected object.
type Detection = detection.Detection

// Options configures a Detector. The zero value runs the embedded default
// model with its default thresholds, one frame per forward pass, on the CPU.
type Options struct {
	// Model describes the network; the zero Spec is the embedded default
	// (YOLOX-Nano). See Registry for named models.
	Model Spec
	// ScoreThreshold and NMSThreshold override the model's when not 0.
	ScoreThreshold float32
	NMSThreshold   float32
	// Threads sets the threads of one forward pass; 0 leaves the runtime's
	// default (every core). ONNX Runtime sets it per session; OpenCV only
	// has a process-wide setting, which affects every Detector (and all
	// other OpenCV work) in the process.
	Threads int
	// Batch is the most frames DetectBatch puts through one forward pass; 0
	// means 1. Models whose graph cannot take a batch (checked when the
	// first Detector is made) run one frame at a time whatever Batch says.
	Batch int
	// Backend is BackendCPU (default), BackendCUDA (ONNX Runtime's CUDA
	// provider, or OpenCV built with CUDA) or BackendTensorRT (ONNX Runtime
	// only).
	Backend string
	// TensorRTCache is where BackendTensorRT keeps the engines it builds, so
	// that only a worker's first session of a model waits minutes for one;
	// empty is the user's cache directory.
	TensorRTCache string
	// Runtime runs the forward pass: RuntimeONNX, RuntimeOpenCV, or empty
	// for ONNX Runtime when its library loads and OpenCV otherwise.
	Runtime string
	// ORTLibrary is the path of libonnxruntime.so; empty looks in .tools/lib
	// (see InitONNXRuntime).
	ORTLibrary string
	// OnBatch, when set, is told how long each batch a Pool runs took,
	// forward pass with its pre- and post-processing, for metrics.
	OnBatch func(model, backend string, took time.Duration)

	autoRuntime bool // Runtime was empty: OpenCV may stand in for ONNX Runtime
}

// withDefaults fills zero fields and rejects out-of-range values.
func (o Options) withDefaults() (Options, error) {
	if o.Model.Name == "" && o.Model.File == "" {
		o.Model = Builtin()[0]
	}
	if o.ScoreThreshold != 0 {
		o.Model.ScoreThreshold = o.ScoreThreshold
	}
	if o.NMSThreshold != 0 {
		o.Model.NMSThreshold = o.NMSThreshold
	}
	m, err := o.Model.withDefaults()
	if err != nil {
		return o, err
	}
	o.Model = m
	if o.Batch == 0 {
		o.Batch = 1
	}
	if o.Backend == "" {
		o.Backend = BackendCPU
	}
	switch o.Runtime {
	case "":
		o.Runtime, o.autoRuntime = RuntimeOpenCV, true
		if _, err := InitONNXRuntime(o.ORTLibrary); err == nil {
			o.Runtime = RuntimeONNX
		}
	case RuntimeONNX:
		if _, err := InitONNXRuntime(o.ORTLibrary); err != nil {
			return o, err
		}
	case RuntimeOpenCV:
	default:
		return o, fmt.Errorf("runtime %q, want %q or %q", o.Runtime, RuntimeONNX, RuntimeOpenCV)
	}
	switch {
	case o.Threads < 0:
		return o, fmt.Errorf("threads %d is negative", o.Threads)
	case o.Batch < 0 || o.Batch > 64:
		return o, fmt.Errorf("batch %d out of range 1..64", o.Batch)
	case o.Backend != BackendCPU && o.Backend != BackendCUDA && o.Backend != BackendTensorRT:
		return o, fmt.Errorf("backend %q, want %q, %q or %q", o.Backend, BackendCPU, BackendCUDA, BackendTensorRT)
	case o.Backend == BackendTensorRT && o.Runtime != RuntimeONNX:
		return o, errors.New("backend tensorrt needs ONNX Runtime (its GPU build with the TensorRT provider)")
	case o.Backend == BackendCUDA && o.Runtime == RuntimeOpenCV && CUDADevices() == 0:
		return o, errors.New("backend cuda: this OpenCV has no usable CUDA device (Debian's OpenCV is built without CUDA; use an OpenCV built with CUDA and cuDNN)")
	}
	return o, nil
}

// model is a validated model in memory, shared by the Detectors of a Pool.
type model struct {
	spec    Spec
	data    []byte
	classes []string

	batchOnce sync.Once
	batch     int   // frames per forward this model takes, once checked
	batchErr  error // why batching is off, if it is
}

// loadModel fills in opts' defaults, reads the model, validates the file
// before OpenCV sees it and does a trial forward pass with C++ exceptions
// caught, so that Detect can never make OpenCV throw. Errors name the file.
func loadModel(opts Options) (Options, *model, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return opts, nil, fmt.Errorf("detector options: %w", err)
	}
	s := opts.Model
	data, classes, err := s.load()
	if err != nil {
		return opts, nil, err
	}
	m := &model{spec: s, data: data, classes: classes}
	var shapes [][]int
	if opts.Runtime == RuntimeONNX {
		shapes, err = probeORT(m, opts)
		// A graph ONNX Runtime refuses that OpenCV may take (say, fixed
		// dimensions with another input size): OpenCV, unless asked for.
		if err != nil && opts.autoRuntime {
			opts.Runtime = RuntimeOpenCV
		}
	}
	if opts.Runtime == RuntimeOpenCV {
		shapes, err = probeONNX(data, s.InputSize, 1)
	}
	if err != nil {
		return opts, nil, fmt.Errorf("model %s (%s): %w", s.Name, s.source(), err)
	}
	if err := checkShapes(shapes, s); err != nil {
		return opts, nil, fmt.Errorf("model %s (%s): %w", s.Name, s.source(), err)
	}
	return opts, m, nil
}

// probeORT runs one pass of an all-zero frame on ONNX Runtime and returns
// the output shapes; the runtime reports a model it cannot run as an error.
func probeORT(m *model, opts Options) ([][]int, error) {
	e, err := newORTEngine(m, opts)
	if err != nil {
		return nil, err
	}
	defer e.close()
	size := m.spec.InputSize
	outs, err := e.run(make([]float32, 3*size*size), 1, size)
	if err != nil {
		return nil, fmt.Errorf("onnx runtime cannot run it: %w", err)
	}
	shapes := make([][]int, len(outs))
	for i, t := range outs {
		shapes[i] = t.shape
	}
	return shapes, nil
}

// checkShapes decodes an all-zero output of the probed shapes, which fails
// exactly when the outputs do not fit the layout.
func checkShapes(shapes [][]int, s Spec) error {
	outs := make([]tensor, len(shapes))
	for i, sh := range shapes {
		n := 1
		for _, d := range sh {
			n *= d
		}
		outs[i] = tensor{shape: sh, data: make([]float32, n)}
	}
	if _, err := decoderFor(s.Layout)(nil, outs, s, 1); err != nil {
		return fmt.Errorf("outputs %v do not fit layout %s: %w", shapes, s.Layout, err)
	}
	return nil
}

// geometry maps model-input pixels back to the frame: x = (xin - dx) / rx.
type geometry struct {
	rx, ry, dx, dy float32
	w, h           float32 // frame size, to clip to
}

// Detector runs one network. It keeps its canvases, blob and scratch
// buffers between calls, so a Detector is NOT safe for concurrent use: give
// each goroutine its own, e.g. through a Pool.
type Detector struct {
	opts   Options
	m      *model
	net    gocv.Net   // the OpenCV runtime's network
	outs   []string   // its output layers
	ort    *ortEngine // the ONNX Runtime session, instead of net
	decode decodeFunc

	canvases  []gocv.Mat // InputSize x InputSize CV_8UC3, one per batch slot
	blob      gocv.Mat   // n x 3 x S x S CV_32F
	bgr       []gocv.Mat // per slot: gray/BGRA input converted to BGR
	geo       []geometry
	cands     []candidate
	scratch   [][]float32
	thr       []float32 // per class id, from the current Filter; empty: none
	thrBeyond float32   // for class ids beyond the model's names
	closed    bool
}

// New loads the model and prepares a Detector. A model file is first checked
// with ValidateONNX and then by a trial run with C++ exceptions caught, so a
// bad file is an error naming it rather than an OpenCV abort.
func New(opts Options) (*Detector, error) {
	opts, m, err := loadModel(opts)
	if err != nil {
		return nil, err
	}
	return newDetector(opts, m)
}

// newDetector builds a Detector from an already validated model, so a Pool
// reads and checks the file only once.
func newDetector(opts Options, m *model) (*Detector, error) {
	d := &Detector{opts: opts, m: m, decode: decoderFor(m.spec.Layout)}
	var err error
	if opts.Runtime == RuntimeONNX {
		d.ort, err = newORTEngine(m, opts)
	} else {
		d.net, d.outs, err = openCVNet(opts, m.spec, m.data)
	}
	if err != nil {
		return nil, err
	}
	d.blob = gocv.NewMat()
	m.batchOnce.Do(func() { m.batch, m.batchErr = d.checkBatch(opts.Batch) })
	return d, nil
}

// openCVNet loads the model into OpenCV's DNN module and names its output
// layers.
func openCVNet(opts Options, s Spec, data []byte) (gocv.Net, []string, error) {
	if opts.Threads > 0 {
		setNumThreads(opts.Threads)
	}
	net, err := gocv.ReadNetFromONNXBytes(data)
	if err != nil {
		return net, nil, fmt.Errorf("load model %s: %w", s.Name, err)
	}
	if net.Empty() {
		net.Close()
		return net, nil, fmt.Errorf("load model %s: OpenCV returned an empty network", s.Name)
	}
	backend, target := gocv.NetBackendDefault, gocv.NetTargetCPU
	if opts.Backend == BackendCUDA {
		backend, target = gocv.NetBackendCUDA, gocv.NetTargetCUDA
	}
	// gocv returns these errors only for unknown enum values; the CPU
	// defaults are explicit so a future OpenCV with other defaults keeps
	// the tested behaviour.
	if err := net.SetPreferableBackend(backend); err != nil {
		net.Close()
		return net, nil, fmt.Errorf("model %s: set backend: %w", s.Name, err)
	}
	if err := net.SetPreferableTarget(target); err != nil {
		net.Close()
		return net, nil, fmt.Errorf("model %s: set target: %w", s.Name, err)
	}
	var outs []string
	for _, id := range net.GetUnconnectedOutLayers() {
		l := net.GetLayer(id)
		outs = append(outs, l.GetName())
		l.Close()
	}
	return net, outs, nil
}

// Runtime is the runtime of the forward pass: RuntimeONNX or RuntimeOpenCV.
func (d *Detector) Runtime() string { return d.opts.Runtime }

// BackendLabel names what runs the forward pass, for metrics and logs: the
// runtime, with the GPU provider when there is one ("onnxruntime-cuda").
func (d *Detector) BackendLabel() string {
	if d.opts.Backend == BackendCPU {
		return d.opts.Runtime
	}
	return d.opts.Runtime + "-" + d.opts.Backend
}

// ModelName is the name of the model the Detector runs.
func (d *Detector) ModelName() string { return d.m.spec.Name }

// InputSize is the side of the model's square input, in pixels.
func (d *Detector) InputSize() int { return d.m.spec.InputSize }

// Classes lists the model's class names by id.
func (d *Detector) Classes() []string { return d.m.classes }

// Batch is the most frames one forward pass takes; BatchError says why it
// is lower than Options.Batch asked for.
func (d *Detector) Batch() int { return d.m.batch }

// BatchError says why batching was turned off, or nil.
func (d *Detector) BatchError() error { return d.m.batchErr }

// checkBatch finds out whether the network takes a batch of want frames and
// gives each frame the same outputs as alone (OpenCV may mis-handle a batch
// without throwing). A trial in C++ catches graphs that throw; two distinct
// frames are then compared against their unbatched outputs.
func (d *Detector) checkBatch(want int) (int, error) {
	if want <= 1 {
		return 1, nil
	}
	s := d.m.spec
	// OpenCV may throw (and abort) on a graph that cannot take a batch: try
	// it with exceptions caught first. ONNX Runtime returns an error.
	if d.ort == nil {
		if _, err := probeONNX(d.m.data, s.InputSize, 2); err != nil {
			return 1, fmt.Errorf("model %s cannot run a batch: %w", s.Name, err)
		}
	}
	imgs := make([]gocv.Mat, 2)
	for i := range imgs {
		imgs[i] = gocv.NewMatWithSize(s.InputSize*3/4, s.InputSize, gocv.MatTypeCV8UC3)
		defer imgs[i].Close()
		gocv.RandU(&imgs[i], gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(255, 255, 255, 0))
	}
	var single [][]float32
	for i := range imgs {
		outs, err := d.forward(imgs[i : i+1])
		if err != nil {
			return 1, err
		}
		single = append(single, flatten(outs.tensors))
		outs.close()
	}
	outs, err := d.forward(imgs)
	if err != nil {
		return 1, err
	}
	defer outs.close()
	per, err := d.split(outs, 2)
	if err != nil {
		return 1, fmt.Errorf("model %s: %w", s.Name, err)
	}
	for i := range per {
		got := flatten(per[i])
		if len(got) != len(single[i]) {
			return 1, fmt.Errorf("model %s: a batch gives %d output values per frame, alone %d", s.Name, len(got), len(single[i]))
		}
		for j := range got {
			if diff := math.Abs(float64(got[j] - single[i][j])); diff > 1e-3*(1+math.Abs(float64(single[i][j]))) {
				return 1, fmt.Errorf("model %s: batched outputs differ from single-frame ones (value %d: %g vs %g)", s.Name, j, got[j], single[i][j])
			}
		}
	}
	return want, nil
}

func flatten(ts []tensor) []float32 {
	var out []float32
	for _, t := range ts {
		out = append(out, t.data...)
	}
	return out
}

// Filter narrows what a detector reports (see detectconf.Filter).
type Filter = detectconf.Filter

// thresholds compiles the filter into d.thr, a minimum score per class id of
// the model's names (+Inf drops the class), and returns the lowest, which
// decoding prunes with.
func (d *Detector) thresholds(f *Filter) (float32, error) {
	base := d.m.spec.ScoreThreshold
	if f == nil {
		d.thr = d.thr[:0]
		return base, nil
	}
	if err := f.Validate(d.m.classes); err != nil {
		return 0, err
	}
	if f.MinScore > 0 {
		base = f.MinScore
	}
	allowed := map[string]bool{}
	for _, c := range f.Classes {
		allowed[c] = true
	}
	d.thr = d.thr[:0]
	lowest := float32(math.Inf(1))
	for id := range d.m.classes {
		name := d.className(id)
		t := base
		if v, ok := f.ClassMinScore[name]; ok {
			t = v
		}
		if len(allowed) > 0 && !allowed[name] {
			t = float32(math.Inf(1))
		}
		d.thr = append(d.thr, t)
		lowest = min(lowest, t)
	}
	// Ids beyond the names ("class_N") cannot be listed in the filter.
	d.thrBeyond = base
	if len(allowed) > 0 {
		d.thrBeyond = float32(math.Inf(1))
	}
	return min(lowest, d.thrBeyond), nil
}

// Detect runs the model on img (8-bit BGR; gray and BGRA are converted) and
// returns the detections sorted by descending score. It never returns nil on
// success, so an empty result marshals as [].
func (d *Detector) Detect(img gocv.Mat) ([]Detection, error) {
	res, err := d.DetectBatch([]gocv.Mat{img}, nil)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// DetectBatch runs the model over imgs, Batch() frames per forward pass, and
// returns each frame's detections (never nil) that pass f (nil: the model's
// threshold, every class).
func (d *Detector) DetectBatch(imgs []gocv.Mat, f *Filter) ([][]Detection, error) {
	if d.closed {
		return nil, errors.New("detect: detector is closed")
	}
	thr, err := d.thresholds(f)
	if err != nil {
		return nil, fmt.Errorf("detect: model %s: %w", d.m.spec.Name, err)
	}
	res := make([][]Detection, 0, len(imgs))
	for start := 0; start < len(imgs); start += d.m.batch {
		part := imgs[start:min(start+d.m.batch, len(imgs))]
		outs, err := d.forward(part)
		if err != nil {
			return nil, err
		}
		per, err := d.split(outs, len(part))
		if err == nil {
			for i := range part {
				var dets []Detection
				if dets, err = d.finish(per[i], d.geo[i], thr); err != nil {
					break
				}
				res = append(res, dets)
			}
		}
		outs.close()
		if err != nil {
			return nil, fmt.Errorf("detect: model %s: %w", d.m.spec.Name, err)
		}
	}
	return res, nil
}

// outputMats pairs the Mats of one forward pass with tensor views of them;
// the views are only valid until close.
type outputMats struct {
	mats    []gocv.Mat
	tensors []tensor
}

func (o outputMats) close() {
	for _, m := range o.mats {
		m.Close()
	}
}

// forward preprocesses imgs into the batch canvases and runs one forward
// pass. The caller closes the result.
func (d *Detector) forward(imgs []gocv.Mat) (outputMats, error) {
	s := d.m.spec
	for len(d.canvases) < len(imgs) {
		d.canvases = append(d.canvases, gocv.NewMatWithSize(s.InputSize, s.InputSize, gocv.MatTypeCV8UC3))
		d.bgr = append(d.bgr, gocv.NewMat())
		d.geo = append(d.geo, geometry{})
	}
	for i, img := range imgs {
		src, err := d.asBGR(img, i)
		if err != nil {
			return outputMats{}, err
		}
		d.geo[i] = d.fit(src, d.canvases[i])
	}
	mean := gocv.NewScalar(s.Mean[0], s.Mean[1], s.Mean[2], 0)
	gocv.BlobFromImages(d.canvases[:len(imgs)], &d.blob, s.Scale, image.Pt(s.InputSize, s.InputSize),
		mean, *s.RGB, false, gocv.MatTypeCV32F)
	if s.Std[0] != 1 || s.Std[1] != 1 || s.Std[2] != 1 {
		if err := d.divideStd(); err != nil {
			return outputMats{}, err
		}
	}
	if d.ort != nil {
		data, err := d.blob.DataPtrFloat32()
		if err != nil {
			return outputMats{}, fmt.Errorf("detect: blob: %w", err)
		}
		ts, err := d.ort.run(data, len(imgs), s.InputSize)
		if err != nil {
			return outputMats{}, fmt.Errorf("detect: model %s: %w", s.Name, err)
		}
		return outputMats{tensors: ts}, nil
	}
	d.net.SetInput(d.blob, "")
	res := outputMats{mats: d.net.ForwardLayers(d.outs)}
	for _, m := range res.mats {
		if m.Empty() {
			res.close()
			return outputMats{}, fmt.Errorf("detect: model %s produced an empty output", s.Name)
		}
		data, err := m.DataPtrFloat32()
		if err != nil {
			res.close()
			return outputMats{}, fmt.Errorf("detect: model %s output: %w", s.Name, err)
		}
		res.tensors = append(res.tensors, tensor{shape: m.Size(), data: data})
	}
	return res, nil
}

// split hands out each frame's outputs of a forward pass of n frames.
func (d *Detector) split(outs outputMats, n int) ([][]tensor, error) {
	per, scratch, err := splitBatch(outs.tensors, n, d.m.spec, d.scratch)
	d.scratch = scratch
	return per, err
}

// divideStd divides each channel plane of the blob by the spec's std.
func (d *Detector) divideStd() error {
	data, err := d.blob.DataPtrFloat32()
	if err != nil {
		return fmt.Errorf("detect: blob: %w", err)
	}
	plane := d.m.spec.InputSize * d.m.spec.InputSize
	for p := 0; p*plane < len(data); p++ {
		inv := float32(1 / d.m.spec.Std[p%3])
		for i, v := range data[p*plane : (p+1)*plane] {
			data[p*plane+i] = v * inv
		}
	}
	return nil
}

// finish decodes one frame's outputs, applies the per-class thresholds
// (d.thr, pruning at thr) and NMS, and maps the boxes to the frame.
func (d *Detector) finish(outs []tensor, g geometry, thr float32) ([]Detection, error) {
	var err error
	d.cands, err = d.decode(d.cands[:0], outs, d.m.spec, thr)
	if err != nil {
		return nil, err
	}
	if len(d.thr) > 0 {
		kept := d.cands[:0]
		for _, c := range d.cands {
			if c.class < len(d.thr) && c.score > d.thr[c.class] || c.class >= len(d.thr) && c.score > d.thrBeyond {
				kept = append(kept, c)
			}
		}
		d.cands = kept
	}
	kept := nmsPerClass(d.cands, d.m.spec.NMSThreshold)
	dets := make([]Detection, 0, len(kept))
	for _, c := range kept {
		b := c.box
		dets = append(dets, Detection{
			ClassID: c.class,
			Class:   d.className(c.class),
			Score:   c.score,
			Box: [4]float32{
				clamp((b[0]-g.dx)/g.rx, 0, g.w), clamp((b[1]-g.dy)/g.ry, 0, g.h),
				clamp((b[2]-g.dx)/g.rx, 0, g.w), clamp((b[3]-g.dy)/g.ry, 0, g.h),
			},
		})
	}
	return dets, nil
}

// asBGR returns img as 8-bit BGR, converting gray and BGRA into slot i's
// scratch Mat.
func (d *Detector) asBGR(img gocv.Mat, i int) (gocv.Mat, error) {
	if img.Empty() {
		return img, errors.New("detect: empty image")
	}
	switch img.Type() {
	case gocv.MatTypeCV8UC3:
		return img, nil
	case gocv.MatTypeCV8UC1:
		gocv.CvtColor(img, &d.bgr[i], gocv.ColorGrayToBGR)
	case gocv.MatTypeCV8UC4:
		gocv.CvtColor(img, &d.bgr[i], gocv.ColorBGRAToBGR)
	default:
		return img, fmt.Errorf("detect: unsupported image type %v (want 8-bit BGR, BGRA or gray)", img.Type())
	}
	return d.bgr[i], nil
}

// fit resizes src into canvas as the spec says (INTER_LINEAR) and returns
// the mapping back to src pixels.
func (d *Detector) fit(src, canvas gocv.Mat) geometry {
	s := d.m.spec
	size := s.InputSize
	w, h := src.Cols(), src.Rows()
	g := geometry{w: float32(w), h: float32(h)}
	if s.Resize == ResizeStretch {
		gocv.Resize(src, &canvas, image.Pt(size, size), 0, 0, gocv.InterpolationLinear)
		g.rx, g.ry = float32(size)/float32(w), float32(size)/float32(h)
		return g
	}
	r := math.Min(float64(size)/float64(h), float64(size)/float64(w))
	// RoundToEven matches Python's round() used by the reference pipelines.
	nw := min(max(int(math.RoundToEven(float64(w)*r)), 1), size)
	nh := min(max(int(math.RoundToEven(float64(h)*r)), 1), size)
	x, y := 0, 0
	if s.Resize == ResizeLetterboxCenter {
		x, y = (size-nw)/2, (size-nh)/2
	}
	pad := float64(*s.Pad)
	canvas.SetTo(gocv.NewScalar(pad, pad, pad, 0))
	roi := canvas.Region(image.Rect(x, y, x+nw, y+nh))
	// The ROI already has the target size and type, so cv::resize writes
	// straight into the canvas instead of allocating.
	gocv.Resize(src, &roi, image.Pt(nw, nh), 0, 0, gocv.InterpolationLinear)
	roi.Close()
	g.rx, g.ry, g.dx, g.dy = float32(r), float32(r), float32(x), float32(y)
	return g
}

// Close releases the network and the reused Mats. It is safe to call twice.
func (d *Detector) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	for i := range d.canvases {
		d.canvases[i].Close()
		d.bgr[i].Close()
	}
	d.blob.Close()
	if d.ort != nil {
		return d.ort.close()
	}
	return d.net.Close()
}

// className maps a class id to the model's name for it, or "class_N" when
// the model has more classes than names.
func (d *Detector) className(id int) string {
	if id >= 0 && id < len(d.m.classes) {
		return d.m.classes[id]
	}
	return fmt.Sprintf("class_%d", id)
}

func clamp(v, lo, hi float32) float32 { return min(max(v, lo), hi) }
