package source

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"

	testmedia "github.com/sightline-video/sightline/internal/testmedia"
)

// testdata is the path of a test medium, found or fetched by the shared
// lookup; a missing one fails the test.
func testdata(t *testing.T, name string) string {
	t.Helper()
	return testmedia.Path(t, name)
}

// repoRoot is the nearest directory above the test holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := testmedia.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func resolveLocal(t *testing.T, s string) Resolved {
	t.Helper()
	r := &DefaultResolver{Policy: Unrestricted}
	res, err := r.Resolve(context.Background(), mustParse(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestOpenDeadURLsFailFast(t *testing.T) {
	for _, u := range []string{"rtmp://127.0.0.1:1/nothing", "http://127.0.0.1:1/x.m3u8"} {
		t.Run(u, func(t *testing.T) {
			res := resolveLocal(t, u)
			start := time.Now()
			r, err := Open(context.Background(), res, Options{OpenTimeout: 3 * time.Second, ReadTimeout: 3 * time.Second})
			took := time.Since(start)
			if err == nil {
				r.Close()
				t.Fatalf("Open(%s) succeeded", u)
			}
			t.Logf("Open(%s) failed after %v: %v", u, took.Round(time.Millisecond), err)
			if took > 5*time.Second {
				t.Fatalf("Open(%s) took %v, want under 5s", u, took)
			}
			if !strings.Contains(err.Error(), u) {
				t.Fatalf("error %q does not name %s", err, u)
			}
			if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrTimeout) {
				t.Fatalf("error %v is neither ErrUnavailable nor ErrTimeout", err)
			}
		})
	}
}

func TestOpenTimeoutFromGo(t *testing.T) {
	// A listener that accepts and never answers: FFmpeg waits for its own
	// timeouts, Go must give up first and name the source.
	ln := silentListener(t)
	u := "http://" + ln + "/stall.m3u8?token=" + strings.Repeat("t", 80)
	res := resolveLocal(t, u)
	start := time.Now()
	// ReadTimeout as in the other tests, so the abandoned open (alive until
	// FFmpeg's 3 s read timeout) shares the options and delays no one.
	r, err := Open(context.Background(), res, Options{OpenTimeout: time.Second, ReadTimeout: 3 * time.Second})
	took := time.Since(start)
	if err == nil {
		r.Close()
		t.Fatal("Open of a silent server succeeded")
	}
	t.Logf("silent server: failed after %v: %v", took.Round(time.Millisecond), err)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v, want ErrTimeout", err)
	}
	if took > 2500*time.Millisecond {
		t.Fatalf("took %v, want about OpenTimeout + 1s slack", took)
	}
	if !strings.Contains(err.Error(), "http://"+ln+"/stall.m3u8?…") || strings.Contains(err.Error(), "tttttttt") {
		t.Fatalf("error %q should name the source with its query redacted", err)
	}

	// A cancelled context ends Open too.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	if r, err := Open(ctx, res, Options{OpenTimeout: 10 * time.Second, ReadTimeout: 3 * time.Second}); err == nil {
		r.Close()
		t.Fatal("Open with an expiring context succeeded")
	} else if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("Open with a 300ms context: %v after %v", err, time.Since(start))
	}
}

func TestOpenReadsLocalFile(t *testing.T) {
	path := testdata(t, "vtest.avi")
	res := resolveLocal(t, path)
	if res.Live || res.Kind != File {
		t.Fatalf("file resolved to %+v", res)
	}
	r, err := Open(context.Background(), res, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Source() != path || r.Live() {
		t.Fatalf("Source %q Live %v", r.Source(), r.Live())
	}
	m := gocv.NewMat()
	defer m.Close()
	for want := 0; want < 5; want++ {
		idx, pts, ok := r.Read(&m)
		if !ok || idx != want || pts != int64(want*100) || m.Cols() != 768 || m.Rows() != 576 {
			t.Fatalf("frame %d: idx %d pts %d ok %v size %dx%d", want, idx, pts, ok, m.Cols(), m.Rows())
		}
	}
	r.Skip(95)
	if idx, pts, ok := r.Read(&m); !ok || idx != 100 || pts != 10000 {
		t.Fatalf("after skip: idx %d pts %d ok %v, want 100 10000 true", idx, pts, ok)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestOpenNotVideo(t *testing.T) {
	p := filepath.Join(t.TempDir(), "notes.mp4")
	if err := os.WriteFile(p, []byte("not a video"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), resolveLocal(t, p), Options{})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), p) {
		t.Fatalf("Open(text file) = %v, want ErrInvalid naming it", err)
	}
}

func TestFFmpegOptions(t *testing.T) {
	o := Options{OpenTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second}
	rtmp := ffmpegOptions(RTMP, o)
	if !strings.Contains(rtmp, "rw_timeout;5000000") || strings.Contains(rtmp, "|timeout;") {
		t.Fatalf("RTMP options %q: want rw_timeout and no timeout (it means listen there)", rtmp)
	}
	if h, m := ffmpegOptions(HLS, o), ffmpegOptions(HTTP, o); h != rtmp || m != rtmp {
		t.Fatalf("HLS options %q, HTTP %q, want the RTMP ones %q (only RTSP differs)", h, m, rtmp)
	}
	if r := ffmpegOptions(RTSP, o); !strings.Contains(r, "rtsp_transport;tcp") || !strings.Contains(r, "|timeout;2000000") {
		t.Fatalf("RTSP options %q: want TCP transport and a socket timeout", r)
	}
}

// TestOpensQueue checks that opens wait for one another, as OpenCV makes
// them, and that the open timeout counts only a source's own open: a file
// opened while a silent server holds OpenCV's open for 3 s opens, though
// its own timeout is 1 s, and says how long it queued.
func TestOpensQueue(t *testing.T) {
	video := testdata(t, "vtest.avi")
	silent := resolveLocal(t, "http://"+silentListener(t)+"/stall.m3u8")
	o := Options{OpenTimeout: time.Second, ReadTimeout: 3 * time.Second}
	start := time.Now()
	if r, err := Open(context.Background(), silent, o); !errors.Is(err, ErrTimeout) {
		if r != nil {
			r.Close()
		}
		t.Fatalf("Open of a silent server = %v, want ErrTimeout", err)
	}
	// Go gave up at 2 s; FFmpeg holds the open until its 3 s read timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if r, err := Open(ctx, resolveLocal(t, video), o); err == nil {
		r.Close()
		t.Fatal("an open behind a held one succeeded within a 200 ms context")
	} else if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "earlier opens") {
		t.Fatalf("an open whose context ends in the queue: %v, want the wait named", err)
	}
	r, err := Open(context.Background(), resolveLocal(t, video), o)
	if err != nil {
		t.Fatalf("a file opened behind a held open: %v (its timeout must not count the queue)", err)
	}
	defer r.Close()
	t.Logf("the file queued %v, opened %v after the silent server's open began", r.Queued().Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond))
	if r.Queued() < 500*time.Millisecond || time.Since(start) < 2500*time.Millisecond {
		t.Fatalf("the file queued %v: it must wait for the held open (until about 3 s)", r.Queued())
	}
}

// silentListener accepts TCP connections on loopback and never answers.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}
