#ifndef SIGHTLINE_DETECTOR_SHIM_H
#define SIGHTLINE_DETECTOR_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void sightline_cv_set_num_threads(int n);
int sightline_cv_get_num_threads(void);

// Loads an ONNX model and runs one forward pass on a 1x3xSxS blob, catching
// every C++ exception. Returns NULL on success and fills dims/ndims with the
// output shape (at most 4 dims), or a malloc'ed error message.
char* sightline_probe_onnx(const char* data, size_t len, int input_size, int* dims, int* ndims);

#ifdef __cplusplus
}
#endif

#endif
