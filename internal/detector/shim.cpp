// Small C shims for OpenCV calls that gocv v0.31.0 lacks or that must not
// let a C++ exception escape (gocv does not catch them: the process aborts).
#include <stdlib.h>
#include <string.h>

#include <exception>

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>

#include "shim.h"

void sightline_cv_set_num_threads(int n) { cv::setNumThreads(n); }

int sightline_cv_get_num_threads(void) { return cv::getNumThreads(); }

char* sightline_probe_onnx(const char* data, size_t len, int input_size, int* dims, int* ndims) {
    try {
        cv::dnn::Net net = cv::dnn::readNetFromONNX(data, len);
        if (net.empty()) {
            return strdup("OpenCV returned an empty network");
        }
        int shape[4] = {1, 3, input_size, input_size};
        cv::Mat blob(4, shape, CV_32F, cv::Scalar(114));
        net.setInput(blob);
        cv::Mat out = net.forward();
        *ndims = out.dims < 4 ? out.dims : 4;
        for (int i = 0; i < *ndims; i++) {
            dims[i] = out.size[i];
        }
        return NULL;
    } catch (const std::exception& e) {
        return strdup(e.what());
    } catch (...) {
        return strdup("unknown C++ exception");
    }
}
