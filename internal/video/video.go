// Package video samples the frames of a video by stream time.
package video

// Sampler decides which frames to keep: every frame when EveryMS is 0,
// otherwise the first frame at or after each multiple of EveryMS of stream
// time. Its state is plain data so a resumed capture can carry it over.
type Sampler struct {
	EveryMS int64 `json:"every_ms"`
	NextMS  int64 `json:"next_ms"`
}

// Keep reports whether the frame at ptsMS is sampled, advancing the sampler.
func (s *Sampler) Keep(ptsMS int64) bool {
	if s.EveryMS <= 0 {
		return true
	}
	if ptsMS < s.NextMS {
		return false
	}
	for s.NextMS <= ptsMS {
		s.NextMS += s.EveryMS
	}
	return true
}
