package detector

/*
#include "threads.h"
*/
import "C"

// setNumThreads sets OpenCV's worker-thread count. It is process-wide: it
// affects every Detector and every other OpenCV call in the process.
func setNumThreads(n int) { C.sightline_cv_set_num_threads(C.int(n)) }

// numThreads reports OpenCV's current worker-thread count.
func numThreads() int { return int(C.sightline_cv_get_num_threads()) }
