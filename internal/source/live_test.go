package source

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"
)

// liveRig runs scripts/live-rig.sh with args and fails the test, with the
// script's output, if it does not succeed.
func liveRig(t *testing.T, timeout time.Duration, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	script := filepath.Join(repoRoot(t), "scripts", "live-rig.sh")
	out, err := exec.CommandContext(ctx, script, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("live rig: %s %s: %v\n%s\nThe live tests need nginx, libnginx-mod-rtmp and ffmpeg (the script installs them as root) and free loopback ports (SIGHTLINE_RTMP_PORT, SIGHTLINE_HLS_PORT).",
			script, strings.Join(args, " "), err, out)
	}
	t.Logf("live rig %s: %s", strings.Join(args, " "), strings.TrimSpace(string(out)))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// TestLiveRTMPAndHLS publishes vtest.avi in a loop through the local nginx
// RTMP server, reads it back as RTMP and as HLS, then stops the publisher
// and checks that both readers end instead of hanging.
func TestLiveRTMPAndHLS(t *testing.T) {
	video := testdata(t, "vtest.avi")
	liveRig(t, 10*time.Minute, "start") // may install packages the first time
	name := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano()%1_000_000)
	liveRig(t, time.Minute, "publish", name, video)
	t.Cleanup(func() { liveRig(t, time.Minute, "unpublish", name) })

	rtmpURL := fmt.Sprintf("rtmp://127.0.0.1:%s/live/%s", envOr("SIGHTLINE_RTMP_PORT", "19350"), name)
	hlsURL := fmt.Sprintf("http://127.0.0.1:%s/hls/%s.m3u8", envOr("SIGHTLINE_HLS_PORT", "18080"), name)
	var readers []*Reader
	for _, c := range []struct {
		url  string
		kind Kind
	}{{rtmpURL, RTMP}, {hlsURL, HLS}} {
		res := resolveLocal(t, c.url)
		if res.Kind != c.kind || !res.Live {
			t.Fatalf("%s resolved to %+v, want live %s", c.url, res, c.kind)
		}
		start := time.Now()
		r, err := Open(context.Background(), res, Options{OpenTimeout: 10 * time.Second, ReadTimeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		readers = append(readers, r)
		if !r.Live() || r.Kind() != c.kind || r.Source() != c.url {
			t.Fatalf("reader: live %v kind %s source %s", r.Live(), r.Kind(), r.Source())
		}
		opened := time.Since(start)
		m := gocv.NewMat()
		var pts []int64
		var first time.Duration
		for len(pts) < 20 {
			idx, p, ok := r.Read(&m)
			if !ok {
				t.Fatalf("%s: read ended after %d frames", c.url, len(pts))
			}
			if len(pts) == 0 {
				first = time.Since(start)
			}
			if idx != len(pts) || m.Cols() != 768 || m.Rows() != 576 {
				t.Fatalf("%s: frame %d has index %d, size %dx%d", c.url, len(pts), idx, m.Cols(), m.Rows())
			}
			if len(pts) > 0 && p < pts[len(pts)-1] {
				t.Fatalf("%s: pts went back from %d to %d", c.url, pts[len(pts)-1], p)
			}
			pts = append(pts, p)
		}
		m.Close()
		t.Logf("%s: opened in %v, first frame after %v, 20 frames after %v, pts %v",
			c.url, opened.Round(time.Millisecond), first.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), pts)
		if pts[19] <= pts[0] {
			t.Fatalf("%s: pts did not advance over 20 frames: %v", c.url, pts)
		}
	}

	// A live source that goes away must end Read (so capture can reconnect)
	// well before OpenCV's own 30 s interrupt timeout.
	liveRig(t, time.Minute, "unpublish", name)
	stopped := time.Now()
	type end struct {
		source string
		took   time.Duration
		frames int
	}
	ends := make(chan end, len(readers))
	for _, r := range readers {
		go func() {
			m := gocv.NewMat()
			defer m.Close()
			n := 0
			for time.Since(stopped) < 60*time.Second {
				if _, _, ok := r.Read(&m); !ok {
					break
				}
				n++
			}
			ends <- end{r.Source(), time.Since(stopped), n}
		}()
	}
	for range readers {
		e := <-ends
		t.Logf("%s: read ended %v after the publisher stopped (%d buffered frames)", e.source, e.took.Round(time.Millisecond), e.frames)
		if e.took > 25*time.Second {
			t.Errorf("%s: read took %v to notice the stream had stopped", e.source, e.took)
		}
	}
}
