#ifndef SIGHTLINE_DETECTOR_SHIM_H
#define SIGHTLINE_DETECTOR_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void sightline_cv_set_num_threads(int n);
int sightline_cv_get_num_threads(void);

// Number of CUDA devices OpenCV can use: 0 when OpenCV was built without
// CUDA (as Debian's is) or no device is present.
int sightline_cuda_devices(void);

// Loads an ONNX model and runs one forward pass of all its outputs on a
// batch x 3 x S x S blob, catching every C++ exception. Returns NULL on
// success and fills shapes (max_outs x 4 ints), ndims (per output) and nouts;
// otherwise a malloc'ed error message.
char* sightline_probe_onnx(const char* data, size_t len, int input_size, int batch,
                           int* shapes, int* ndims, int max_outs, int* nouts);

#ifdef __cplusplus
}
#endif

#endif
