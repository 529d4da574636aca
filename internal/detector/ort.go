package detector

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Runtimes that run a network's forward pass. Pre- and post-processing are
// the same for both: gocv letterboxes into the blob, the decoders read the
// output tensors.
const (
	RuntimeONNX   = "onnxruntime" // Microsoft's ONNX Runtime, when its library loads
	RuntimeOpenCV = "opencv"      // OpenCV's DNN module
)

// ortLibName is the library's file name, looked for in .tools/lib (where
// make deps puts it) above the working directory and the executable.
const ortLibName = "libonnxruntime.so"

var ortState struct {
	once sync.Once
	path string
	err  error
}

// InitONNXRuntime loads ONNX Runtime from path, or when path is empty from
// .tools/lib in the working directory, the executable's directory or one of
// their parents, else from the system's library path. It loads once per
// process: later calls return the first outcome. The error says how to
// install the library.
func InitONNXRuntime(path string) (string, error) {
	ortState.once.Do(func() {
		ortState.path, ortState.err = initORT(path)
	})
	return ortState.path, ortState.err
}

func initORT(path string) (string, error) {
	if path == "" {
		path = findORT()
	}
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("onnx runtime library %s: %w", path, err)
		}
		ort.SetSharedLibraryPath(path)
	} else {
		path = ortLibName // the dynamic loader's search path
		ort.SetSharedLibraryPath(path)
	}
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return "", fmt.Errorf("load onnx runtime (%s): %w; install it with `make deps` (into .tools/lib) or point SIGHTLINE_ORT_LIB at a libonnxruntime.so", path, err)
	}
	return path, nil
}

// findORT looks for .tools/lib/libonnxruntime.so above the working
// directory and the executable.
func findORT() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for range 5 {
			p := filepath.Join(dir, ".tools", "lib", ortLibName)
			if _, err := os.Stat(p); err == nil {
				return p
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return ""
}

// ortEngine runs a model on ONNX Runtime: one session, inputs from the
// blob gocv builds. The runtime allocates the outputs of a first pass (the
// library copies them into Go memory); later passes of the same batch size
// write into those, which saves a copy of megabytes per pass.
type ortEngine struct {
	session *ort.DynamicAdvancedSession
	input   string
	outputs []string
	values  []ort.Value
	valuesN int  // the batch size values were allocated for
	varying bool // output shapes changed for one batch size: never reuse
}

func newORTEngine(m *model, opts Options) (*ortEngine, error) {
	s := m.spec
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(m.data)
	if err != nil {
		return nil, fmt.Errorf("model %s: onnx runtime cannot read it: %w", s.Name, err)
	}
	if len(ins) != 1 {
		return nil, fmt.Errorf("model %s: %d inputs, want 1 image input", s.Name, len(ins))
	}
	e := &ortEngine{input: ins[0].Name}
	for _, o := range outs {
		e.outputs = append(e.outputs, o.Name)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("model %s: session options: %w", s.Name, err)
	}
	defer so.Destroy()
	// Threads 0 leaves ONNX Runtime one thread per core; a Pool of one
	// session per core asks for 1 each.
	if opts.Threads > 0 {
		if err := so.SetIntraOpNumThreads(opts.Threads); err != nil {
			return nil, fmt.Errorf("model %s: threads: %w", s.Name, err)
		}
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("model %s: threads: %w", s.Name, err)
	}
	if err := appendGPUProviders(so, opts); err != nil {
		return nil, err
	}
	e.session, err = ort.NewDynamicAdvancedSessionWithONNXData(m.data, []string{e.input}, e.outputs, so)
	if err != nil {
		return nil, fmt.Errorf("model %s: onnx runtime session: %w", s.Name, err)
	}
	return e, nil
}

// appendGPUProviders puts the GPU execution providers of opts.Backend on
// so, in order of preference; the CPU provider runs whatever they do not.
func appendGPUProviders(so *ort.SessionOptions, opts Options) error {
	const needs = "see docs/gpu.md: it needs ONNX Runtime's provider libraries beside libonnxruntime.so, CUDA 12 and cuDNN 9"
	if opts.Backend == BackendTensorRT {
		dir := opts.TensorRTCache
		if dir == "" {
			cache, err := os.UserCacheDir()
			if err != nil {
				return fmt.Errorf("tensorrt engine cache: %w", err)
			}
			dir = filepath.Join(cache, "sightline", "tensorrt")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("tensorrt engine cache: %w", err)
		}
		trt, err := ort.NewTensorRTProviderOptions()
		if err != nil {
			return fmt.Errorf("onnx runtime's TensorRT provider: %w (%s, and TensorRT 10)", err, needs)
		}
		defer trt.Destroy()
		if err := trt.Update(map[string]string{"trt_engine_cache_enable": "1", "trt_engine_cache_path": dir}); err != nil {
			return fmt.Errorf("tensorrt options: %w (%s, and TensorRT 10)", err, needs)
		}
		if err := so.AppendExecutionProviderTensorRT(trt); err != nil {
			return fmt.Errorf("onnx runtime's TensorRT provider: %w (%s, and TensorRT 10)", err, needs)
		}
	}
	if opts.Backend == BackendCUDA || opts.Backend == BackendTensorRT {
		cuda, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return fmt.Errorf("onnx runtime's CUDA provider: %w (%s)", err, needs)
		}
		defer cuda.Destroy()
		if err := so.AppendExecutionProviderCUDA(cuda); err != nil {
			return fmt.Errorf("onnx runtime's CUDA provider: %w (%s)", err, needs)
		}
	}
	return nil
}

// run runs one pass on blob (n x 3 x S x S float32); the tensors are valid
// until the next pass or release.
func (e *ortEngine) run(blob []float32, n, size int) ([]tensor, error) {
	if n != e.valuesN || e.varying {
		e.release()
	}
	in, err := ort.NewTensor(ort.NewShape(int64(n), 3, int64(size), int64(size)), blob)
	if err != nil {
		return nil, err
	}
	defer in.Destroy()
	if e.values == nil {
		e.values = make([]ort.Value, len(e.outputs))
	}
	reused := e.values[0] != nil
	err = e.session.Run([]ort.Value{in}, e.values)
	if err != nil && reused {
		// A model whose output shapes depend on the frame: allocate anew.
		e.varying = true
		e.release()
		err = e.session.Run([]ort.Value{in}, e.values)
	}
	if err != nil {
		return nil, err
	}
	e.valuesN = n
	out := make([]tensor, len(e.values))
	for i, v := range e.values {
		t, ok := v.(*ort.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("output %s is not a float32 tensor", e.outputs[i])
		}
		shape := t.GetShape()
		dims := make([]int, len(shape))
		for j, d := range shape {
			dims[j] = int(d)
		}
		out[i] = tensor{shape: dims, data: t.GetData()}
	}
	return out, nil
}

// release frees the last pass's outputs; nil entries make the next pass
// allocate new ones.
func (e *ortEngine) release() {
	for i, v := range e.values {
		if v != nil {
			_ = v.Destroy()
			e.values[i] = nil
		}
	}
}

func (e *ortEngine) close() error {
	e.release()
	if e.session == nil {
		return nil
	}
	err := e.session.Destroy()
	e.session = nil
	return err
}
