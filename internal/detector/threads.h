#ifndef SIGHTLINE_DETECTOR_THREADS_H
#define SIGHTLINE_DETECTOR_THREADS_H

#ifdef __cplusplus
extern "C" {
#endif

void sightline_cv_set_num_threads(int n);
int sightline_cv_get_num_threads(void);

#ifdef __cplusplus
}
#endif

#endif
