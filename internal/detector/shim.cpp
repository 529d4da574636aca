// Small C shims for OpenCV calls that gocv v0.31.0 lacks or that must not
// let a C++ exception escape (gocv does not catch them: the process aborts).
#include <stdlib.h>
#include <string.h>

#include <exception>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/core/cuda.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>

#include "shim.h"

void sightline_cv_set_num_threads(int n) { cv::setNumThreads(n); }

int sightline_cv_get_num_threads(void) { return cv::getNumThreads(); }

int sightline_cuda_devices(void) {
    try {
        return cv::cuda::getCudaEnabledDeviceCount();
    } catch (...) {
        return 0;
    }
}

char* sightline_probe_onnx(const char* data, size_t len, int input_size, int batch,
                           int* shapes, int* ndims, int max_outs, int* nouts) {
    try {
        cv::dnn::Net net = cv::dnn::readNetFromONNX(data, len);
        if (net.empty()) {
            return strdup("OpenCV returned an empty network");
        }
        int shape[4] = {batch, 3, input_size, input_size};
        cv::Mat blob(4, shape, CV_32F, cv::Scalar(114));
        net.setInput(blob);
        std::vector<cv::Mat> outs;
        net.forward(outs, net.getUnconnectedOutLayersNames());
        *nouts = (int)outs.size() < max_outs ? (int)outs.size() : max_outs;
        for (int o = 0; o < *nouts; o++) {
            ndims[o] = outs[o].dims < 4 ? outs[o].dims : 4;
            for (int i = 0; i < ndims[o]; i++) {
                shapes[o * 4 + i] = outs[o].size[i];
            }
        }
        return NULL;
    } catch (const std::exception& e) {
        return strdup(e.what());
    } catch (...) {
        return strdup("unknown C++ exception");
    }
}
