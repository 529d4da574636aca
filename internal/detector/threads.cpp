// gocv v0.31.0 does not wrap cv::setNumThreads, so expose it through a tiny
// C shim. Neither call throws.
#include <opencv2/core/utility.hpp>

#include "threads.h"

void sightline_cv_set_num_threads(int n) { cv::setNumThreads(n); }

int sightline_cv_get_num_threads(void) { return cv::getNumThreads(); }
