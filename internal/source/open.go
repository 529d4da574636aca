package source

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"
)

// Options bound how long opening and reading may block.
type Options struct {
	// OpenTimeout bounds Open (DefaultOpenTimeout when 0).
	OpenTimeout time.Duration
	// ReadTimeout bounds each network read inside FFmpeg, so a stalled
	// stream ends Read instead of hanging (DefaultReadTimeout when 0).
	ReadTimeout time.Duration
}

// Defaults for Options.
const (
	DefaultOpenTimeout = 10 * time.Second
	DefaultReadTimeout = 10 * time.Second
)

// openSlack is added to OpenTimeout before Go gives up on OpenCV, so that
// FFmpeg's own timeouts (derived from the same values) usually fire first
// and nothing is left running.
const openSlack = time.Second

func (o Options) withDefaults() Options {
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = DefaultOpenTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	return o
}

// ffmpegOptionsEnv is read by OpenCV's FFmpeg backend when a capture opens:
// "key;value|key;value", passed to avformat_open_input.
const ffmpegOptionsEnv = "OPENCV_FFMPEG_CAPTURE_OPTIONS"

// ffmpegOptions derives the FFmpeg options for a network source. Without
// them a dead URL blocks for OpenCV's 30 s interrupt timeout and probing a
// live stream takes seconds.
//
// "timeout" is left out for all kinds but RTSP: on RTMP it means "listen
// for an incoming publisher" rather than connect, and HTTP needs it not
// (rw_timeout bounds reads, and TCP connects too).
func ffmpegOptions(kind Kind, o Options) string {
	us := func(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) }
	opts := []string{
		"rw_timeout;" + us(o.ReadTimeout), // one read or write on any protocol
		"analyzeduration;500000",          // probe 0.5 s of stream, not 5 s
		"probesize;65536",
	}
	if kind == RTSP {
		// RTSP is a demuxer, so rw_timeout does not reach its socket; its
		// "timeout" is the socket I/O timeout. OpenCV asks for TCP itself
		// only when the variable is unset; UDP rarely survives NAT.
		opts = append(opts, "rtsp_transport;tcp", "timeout;"+us(min(o.OpenTimeout, o.ReadTimeout)))
	}
	return strings.Join(opts, "|")
}

// opener lets one open through OpenCV's FFmpeg backend run at a time.
// OpenCV holds a process-wide mutex for the whole of such an open
// (connect, handshake, waiting for a keyframe, probing), so opens never
// overlap anyway: a worker opens live streams one after the other, each
// taking up to a keyframe interval. Queueing here instead of inside OpenCV
// lets the open timeout count the open alone, not the wait behind others
// (which only ctx bounds), and lets each open set the process-wide options
// variable, which OpenCV reads during the open, without racing another.
// An open abandoned by Go keeps its turn until OpenCV returns, as OpenCV
// keeps its mutex. Webcams open through V4L2 and do not queue.
var opener = make(chan struct{}, 1)

// Reader yields the frames of an opened source in order, with their index
// and presentation time.
type Reader struct {
	source string // redacted, for logs
	kind   Kind
	live   bool
	vc     *gocv.VideoCapture
	fps    float64
	next   int
	queued time.Duration // waited for earlier opens, see opener

	// Live timing, see Read.
	start   time.Time
	lastPTS int64
	usePos  bool

	closeOnce sync.Once
	closeErr  error
}

type openResult struct {
	vc  *gocv.VideoCapture
	err error
}

// Open opens res with OpenCV: files with the default backend, webcams with
// V4L2, network sources with FFmpeg and options derived from opts.
//
// OpenCV cannot be cancelled, so Open runs it in a goroutine and returns an
// ErrTimeout error after OpenTimeout (plus a second of slack), counted from
// its turn (see opener), or when ctx ends. That goroutine then lives on
// until OpenCV gives up (bounded by the FFmpeg timeouts derived from opts,
// at worst by OpenCV's own 30 s open limit) and closes whatever it opened.
func Open(ctx context.Context, res Resolved, opts Options) (*Reader, error) {
	o := opts.withDefaults()
	name := res.String()
	if name == "" {
		name = Redact(res.Target)
	}
	if res.Target == "" || res.Kind == YouTube {
		return nil, fmt.Errorf("open %s: nothing OpenCV can open (resolve the spec first): %w", name, ErrInvalid)
	}
	var env string
	if res.Kind != File && res.Kind != Webcam {
		env = ffmpegOptions(res.Kind, o)
	}

	queued := time.Now()
	if res.Kind != Webcam {
		select {
		case opener <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("open %s: waited %v for the worker's earlier opens: %w",
				name, time.Since(queued).Round(time.Millisecond), ctx.Err())
		}
	}
	start := time.Now()
	octx, cancel := context.WithTimeout(ctx, o.OpenTimeout+openSlack)
	defer cancel()
	timedOut := func() error {
		if ctx.Err() != nil {
			return fmt.Errorf("open %s: %w", name, ctx.Err())
		}
		return fmt.Errorf("open %s: no answer within %v: %w", name, time.Since(start).Round(time.Millisecond), ErrTimeout)
	}
	// Files get FFmpeg's own probing, not the live-stream options.
	if res.Kind != Webcam && os.Getenv(ffmpegOptionsEnv) != env {
		if err := setenv(ffmpegOptionsEnv, env); err != nil {
			<-opener
			return nil, fmt.Errorf("open %s: set %s: %w", name, ffmpegOptionsEnv, err)
		}
	}

	done := make(chan openResult, 1)
	go func() {
		if res.Kind != Webcam {
			defer func() { <-opener }()
		}
		vc, err := openCapture(res)
		done <- openResult{vc, err}
	}()

	var r openResult
	select {
	case r = <-done:
	case <-octx.Done():
		go func() {
			if late := <-done; late.vc != nil {
				late.vc.Close()
			}
		}()
		return nil, timedOut()
	}
	if r.err != nil {
		return nil, fmt.Errorf("open %s: %w", name, r.err)
	}
	fps := r.vc.Get(gocv.VideoCaptureFPS)
	if math.IsNaN(fps) || math.IsInf(fps, 0) || fps < 0 || fps > 1000 {
		fps = 0
	}
	return &Reader{source: name, kind: res.Kind, live: res.Live, vc: r.vc, fps: fps, queued: start.Sub(queued)}, nil
}

func setenv(key, value string) error {
	if value == "" {
		return os.Unsetenv(key)
	}
	return os.Setenv(key, value)
}

// openCapture does the blocking OpenCV call. Its errors never include the
// target, which may be a signed URL.
func openCapture(res Resolved) (*gocv.VideoCapture, error) {
	var (
		vc  *gocv.VideoCapture
		err error
		why string
	)
	switch res.Kind {
	case File:
		vc, err = gocv.VideoCaptureFile(res.Target)
		why = "OpenCV cannot read it as video"
	case Webcam:
		if res.Spec.Device >= 0 {
			vc, err = gocv.VideoCaptureDeviceWithAPI(res.Spec.Device, gocv.VideoCaptureV4L2)
		} else {
			vc, err = gocv.VideoCaptureFileWithAPI(res.Target, gocv.VideoCaptureV4L2)
		}
		why = "V4L2 cannot open the device (missing, busy or no permission)"
	default:
		vc, err = gocv.VideoCaptureFileWithAPI(res.Target, gocv.VideoCaptureFFmpeg)
		why = "FFmpeg cannot open it (unreachable, refused, timed out, or not a stream it can decode)"
	}
	if err != nil || vc == nil || !vc.IsOpened() {
		if vc != nil {
			vc.Close()
		}
		kind := ErrInvalid // a bad file or device stays bad
		if res.Kind != File && res.Kind != Webcam {
			kind = ErrUnavailable
		}
		return nil, fmt.Errorf("%s: %w", why, kind)
	}
	return vc, nil
}

// Source is the redacted name of what was opened.
func (r *Reader) Source() string { return r.source }

// Kind is the kind of the opened target.
func (r *Reader) Kind() Kind { return r.kind }

// Queued is how long Open waited for the process's earlier opens.
func (r *Reader) Queued() time.Duration { return r.queued }

// Live reports whether the source has no end.
func (r *Reader) Live() bool { return r.live }

// Skip discards n frames without decoding them.
func (r *Reader) Skip(n int) {
	if n > 0 {
		r.vc.Grab(n)
		r.next += n
	}
}

// Read decodes the next frame into m. ok is false at the end of a file, or
// when a live stream stops or stalls for longer than ReadTimeout.
//
// Times: for files and recorded videos ptsMS is index / frame rate, so it is exact and survives a resume. For live sources it
// is the stream position FFmpeg reports (CAP_PROP_POS_MSEC, relative to the
// first packet seen), which spaces frames by content time even when a
// buffered burst is read faster than real time; it is forced not to go
// backwards, and if the stream carries no timestamps it falls back to the
// wall-clock time since the first frame.
func (r *Reader) Read(m *gocv.Mat) (index int, ptsMS int64, ok bool) {
	if !r.vc.Read(m) || m.Empty() {
		return r.next, 0, false
	}
	index = r.next
	r.next++
	if !r.live {
		if r.fps > 0 {
			ptsMS = int64(float64(index) * 1000 / r.fps)
		} else {
			ptsMS = int64(r.vc.Get(gocv.VideoCapturePosMsec))
		}
		return index, ptsMS, true
	}
	pos := r.vc.Get(gocv.VideoCapturePosMsec)
	if index == 0 {
		r.start = time.Now()
	}
	if pos > 0 && !math.IsNaN(pos) && !math.IsInf(pos, 0) {
		r.usePos = true
		ptsMS = int64(pos)
	} else if r.usePos {
		ptsMS = r.lastPTS
	} else {
		ptsMS = time.Since(r.start).Milliseconds()
	}
	if ptsMS < r.lastPTS {
		ptsMS = r.lastPTS
	}
	r.lastPTS = ptsMS
	return index, ptsMS, true
}

// Close releases the source; later calls do nothing.
func (r *Reader) Close() error {
	r.closeOnce.Do(func() {
		if r.vc != nil {
			if err := r.vc.Close(); err != nil {
				r.closeErr = fmt.Errorf("close %s: %w", r.source, err)
			}
		}
	})
	return r.closeErr
}
