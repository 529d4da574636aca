// Package video reads frames from a video source with OpenCV and samples them
// by stream time.
package video

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"gocv.io/x/gocv"
)

// ErrSource marks errors caused by the source itself (missing file,
// unsupported or unreadable media): retrying will not help.
var ErrSource = errors.New("bad video source")

// Reader yields the frames of a source in order, with their index and
// presentation time.
type Reader struct {
	source string
	vc     *gocv.VideoCapture
	fps    float64
	next   int // index of the frame the next Read returns
}

// Open opens a local video file. Only files are supported for now; URLs and
// devices return an error naming the source.
func Open(source string) (*Reader, error) {
	path := strings.TrimPrefix(source, "file://")
	if strings.Contains(path, "://") {
		return nil, fmt.Errorf("video: open %q: only local files are supported: %w", source, ErrSource)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("video: open %q: %v: %w", source, err, ErrSource)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("video: open %q: is a directory: %w", source, ErrSource)
	}
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil || !vc.IsOpened() {
		if vc != nil {
			vc.Close()
		}
		return nil, fmt.Errorf("video: open %q: OpenCV cannot read it as video: %w", source, ErrSource)
	}
	return &Reader{source: source, vc: vc, fps: vc.Get(gocv.VideoCaptureFPS)}, nil
}

// Source is what Open was given.
func (r *Reader) Source() string { return r.source }

// Skip discards n frames without decoding them, so a resumed capture starts
// at the same frame as before.
func (r *Reader) Skip(n int) {
	if n > 0 {
		r.vc.Grab(n)
		r.next += n
	}
}

// Read decodes the next frame into m. ok is false at the end of the source.
func (r *Reader) Read(m *gocv.Mat) (index int, ptsMS int64, ok bool) {
	if !r.vc.Read(m) || m.Empty() {
		return r.next, 0, false
	}
	index = r.next
	r.next++
	// Derive time from the index when the container gives a frame rate: it
	// is exact and stays the same after a resume, unlike decoder positions.
	if r.fps > 0 {
		ptsMS = int64(float64(index) * 1000 / r.fps)
	} else {
		ptsMS = int64(r.vc.Get(gocv.VideoCapturePosMsec))
	}
	return index, ptsMS, true
}

// Close releases the source.
func (r *Reader) Close() error { return r.vc.Close() }

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
