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

// probeONNX loads the model in OpenCV and runs one forward pass on an
// inputSize x inputSize blob, with C++ exceptions caught, and returns the
// output shape. Models that pass ValidateONNX can still make OpenCV throw
// (unsupported operator, wrong input size), which through gocv would abort
// the process.
func probeONNX(data []byte, inputSize int) ([]int, error) {
	if len(data) == 0 {
		return nil, errors.New("empty model")
	}
	var dims [4]C.int
	var ndims C.int
	// OpenCV only reads the buffer during the call, and it holds no Go
	// pointers, so passing Go memory is allowed.
	msg := C.sightline_probe_onnx((*C.char)(unsafe.Pointer(&data[0])), C.size_t(len(data)),
		C.int(inputSize), &dims[0], &ndims)
	if msg != nil {
		defer C.free(unsafe.Pointer(msg))
		return nil, errors.New("OpenCV cannot run it: " + cleanCVError(C.GoString(msg)))
	}
	shape := make([]int, int(ndims))
	for i := range shape {
		shape[i] = int(dims[i])
	}
	return shape, nil
}

// cleanCVError squeezes cv::Exception's multi-line what() onto one line.
func cleanCVError(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
