package detector

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"strings"
	"unsafe"
)

// setNumThreads sets OpenCV's worker-thread count. It is process-wide: it
// affects every Detector and every other OpenCV call in the process.
func setNumThreads(n int) { C.sightline_cv_set_num_threads(C.int(n)) }

// numThreads reports OpenCV's current worker-thread count.
func numThreads() int { return int(C.sightline_cv_get_num_threads()) }

// CUDADevices is the number of CUDA devices OpenCV can run networks on: 0
// when OpenCV was built without CUDA, as Debian's is.
func CUDADevices() int { return int(C.sightline_cuda_devices()) }

// maxOutputs bounds the outputs probeONNX reports; PicoDet has 8.
const maxOutputs = 16

// probeONNX loads the model in OpenCV and runs one forward pass of a batch
// of inputSize x inputSize blobs, with C++ exceptions caught, and returns
// the output shapes. Models that pass ValidateONNX can still make OpenCV
// throw (unsupported operator, wrong input size, a batch the graph cannot
// take), which through gocv would abort the process.
func probeONNX(data []byte, inputSize, batch int) ([][]int, error) {
	if len(data) == 0 {
		return nil, errors.New("empty model")
	}
	var shapes [maxOutputs * 4]C.int
	var ndims [maxOutputs]C.int
	var nouts C.int
	// OpenCV only reads the buffer during the call, and it holds no Go
	// pointers, so passing Go memory is allowed.
	msg := C.sightline_probe_onnx((*C.char)(unsafe.Pointer(&data[0])), C.size_t(len(data)),
		C.int(inputSize), C.int(batch), &shapes[0], &ndims[0], maxOutputs, &nouts)
	if msg != nil {
		defer C.free(unsafe.Pointer(msg))
		return nil, errors.New("OpenCV cannot run it: " + cleanCVError(C.GoString(msg)))
	}
	out := make([][]int, int(nouts))
	for o := range out {
		out[o] = make([]int, int(ndims[o]))
		for i := range out[o] {
			out[o][i] = int(shapes[o*4+i])
		}
	}
	return out, nil
}

// cleanCVError squeezes cv::Exception's multi-line what() onto one line.
func cleanCVError(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// SetThreads sets OpenCV's process-wide worker-thread count (0: OpenCV's
// default, one per core), for callers that compare settings, like the
// benchmarks.
func SetThreads(n int) { setNumThreads(n) }
