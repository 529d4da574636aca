package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.temporal.io/sdk/client"

	"github.com/sightline-video/sightline/activities"
	dbtlike "github.com/sightline-video/sightline/dbt_like"
	"github.com/sightline-video/sightline/internal/app"
	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/metrics"
	"github.com/sightline-video/sightline/internal/source"
	"github.com/sightline-video/sightline/internal/source/sourcetest"
	"github.com/sightline-video/sightline/internal/testenv"
	"github.com/sightline-video/sightline/worker"
	"github.com/sightline-video/sightline/workflows"
)

// liveStack runs an in-process worker (so tests can give it a resolver) on
// fresh queues, database and bucket.
type liveStack struct {
	testDB
	metrics *metrics.Metrics // the in-process worker's
	tc      client.Client
	queue   string
	detect  string
}

func newLiveStack(t testing.TB, resolver source.Resolver) *liveStack {
	t.Helper()
	return newDetectStack(t, resolver, detector.Options{}, 2)
}

// newDetectStack is newLiveStack with the detector settings and network count
// chosen, for the benchmarks; tune adjusts the worker's options.
func newDetectStack(t testing.TB, resolver source.Resolver, opts detector.Options, nets int, tune ...func(*worker.Options)) *liveStack {
	t.Helper()
	pool, _ := testenv.DB(t)
	tc := testenv.Temporal(t)
	dets, err := detector.NewModels(nil, opts, nets)
	if err != nil {
		t.Fatal(err)
	}
	if err := dets.Warm(); err != nil { // as a worker does
		t.Fatal(err)
	}
	project, err := dbtlike.DefaultProject()
	if err != nil {
		t.Fatal(err)
	}
	if resolver == nil {
		resolver = &source.DefaultResolver{Policy: source.Unrestricted}
	}
	acts := &activities.Activities{DB: pool, Store: testenv.Store(t), Detectors: dets, Rollup: project, Temporal: tc,
		Sources: resolver, SourceOptions: app.SourceOptions, Metrics: metrics.New()}
	s := &liveStack{testDB: testDB{t, pool}, metrics: acts.Metrics, tc: tc, queue: testenv.Name("main"), detect: testenv.Name("detect")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	wopts := worker.Options{TaskQueue: s.queue, DetectTaskQueue: s.detect, DetectConcurrency: 2 * nets}
	for _, f := range tune {
		f(&wopts)
	}
	go func() {
		defer close(done)
		if err := worker.Run(ctx, tc, acts, wopts); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done; _ = dets.Close() })
	return s
}

func (s *liveStack) start(id string, in contract.CaptureInput) client.WorkflowRun {
	s.t.Helper()
	in.DetectTaskQueue = s.detect
	run, err := s.tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: s.queue},
		workflows.CaptureWorkflow, in)
	if err != nil {
		s.t.Fatalf("start %s: %v", id, err)
	}
	return run
}

// rig runs scripts/live-rig.sh: nginx-rtmp on loopback and ffmpeg publishers.
func rig(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, testenv.RepoRoot(t)+"/scripts/live-rig.sh", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("live-rig.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// publish loops vtest.avi into the rig as stream name and returns its RTMP
// and HLS URLs once the HLS playlist is being served.
func publish(t testing.TB, name string) (rtmpURL, hlsURL string) {
	t.Helper()
	return publishFile(t, name, testenv.SharedFile(t, "vtest.avi"))
}

// publishFile is publish with the file to loop.
func publishFile(t testing.TB, name, file string) (rtmpURL, hlsURL string) {
	t.Helper()
	rig(t, "start")
	rig(t, "publish", name, file)
	t.Cleanup(func() { rig(t, "unpublish", name) })
	rtmpURL = rigRTMP(name)
	hlsURL = fmt.Sprintf("http://127.0.0.1:%s/hls/%s.m3u8", envOr("SIGHTLINE_HLS_PORT", "18080"), name)
	waitFor(t, "the HLS playlist of "+name, 30*time.Second, func() bool {
		_, err := os.Stat(testenv.RepoRoot(t) + "/.data/live/hls/" + name + ".m3u8")
		return err == nil
	})
	return rtmpURL, hlsURL
}

// TestManyLiveOpensAtOnce opens eight live RTMP streams at once with the
// workers' source options, as a StreamWorkflow's windows do at each
// boundary. OpenCV runs one FFmpeg open at a time per process, each waiting
// for a keyframe, so the last waits for the others: every open must still
// succeed, the wait not counting against its own timeout.
func TestManyLiveOpensAtOnce(t *testing.T) {
	flv := h264Sample(t)
	const n = 8
	urls := make([]string, n)
	for i := range urls {
		urls[i], _ = publishFile(t, liveName(), flv)
	}
	resolver := &source.DefaultResolver{Policy: source.Unrestricted}
	errs, queued := make([]error, n), make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			spec, err := source.Parse(u)
			if err != nil {
				errs[i] = err
				return
			}
			res, err := resolver.Resolve(ctx, spec)
			if err != nil {
				errs[i] = err
				return
			}
			r, err := source.Open(ctx, res, app.SourceOptions)
			if err != nil {
				errs[i] = err
				return
			}
			queued[i] = r.Queued()
			r.Close()
		}()
	}
	wg.Wait()
	t.Logf("%d opens took %v; queued %v (open timeout %v)", n, time.Since(start).Round(time.Millisecond),
		queued, app.SourceOptions.OpenTimeout)
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d of %d at once: %v", i+1, n, err)
		}
	}
}

// rigRTMP is the RTMP URL of stream name on the rig.
func rigRTMP(name string) string {
	return fmt.Sprintf("rtmp://127.0.0.1:%s/live/%s", envOr("SIGHTLINE_RTMP_PORT", "19350"), name)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func liveName() string { return strings.ReplaceAll(testenv.Name("cam"), "-", "") }

// TestRTMPCaptureRidesOutAPublisherRestart captures a live RTMP stream while
// its publisher is killed and restarted: the capture records a gap and
// completes, with people detected on both sides of the gap.
func TestRTMPCaptureRidesOutAPublisherRestart(t *testing.T) {
	s := newLiveStack(t, nil)
	name := liveName()
	rtmpURL, _ := publish(t, name)
	id := testenv.Name("capture-rtmp")
	run := s.start(id, contract.CaptureInput{StreamID: "rtmp-cam", Source: rtmpURL, Settings: contract.Settings{DurationSeconds: 25, EveryMS: 250, ChunkFrames: 8}})
	waitFor(t, "frames from the live stream", time.Minute, func() bool {
		return s.count(`SELECT count(*) FROM chunks WHERE capture_id = $1`, id) >= 2
	})
	rig(t, "unpublish", name)
	waitFor(t, "the outage to be noticed", 20*time.Second, func() bool {
		return s.count(`SELECT count(*) FROM capture_gaps WHERE capture_id = $1`, id) >= 1
	})
	time.Sleep(2 * time.Second)
	rig(t, "publish", name, testenv.SharedFile(t, "vtest.avi"))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res contract.CaptureResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("capture across the restart failed: %v", err)
	}
	var began, ended time.Time
	if err := s.db.QueryRow(context.Background(), `SELECT started_at, ended_at FROM capture_gaps
		WHERE capture_id = $1 ORDER BY gap_index LIMIT 1`, id).Scan(&began, &ended); err != nil {
		t.Fatalf("gap not closed: %v", err)
	}
	var before, after int
	_ = s.db.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE ts < $2), count(*) FILTER (WHERE ts > $3)
		FROM frames WHERE capture_id = $1 AND detection_count > 0`, id, began, ended).Scan(&before, &after)
	t.Logf("capture %+v; gap %s; frames with detections before %d, after %d", res, ended.Sub(began).Round(time.Millisecond), before, after)
	if before == 0 || after == 0 {
		t.Fatalf("want analysed frames on both sides of the gap, got %d before and %d after", before, after)
	}
	if n := s.count(`SELECT count(*) FROM captures WHERE id = $1 AND status = 'completed'`, id); n != 1 {
		t.Fatal("capture not marked completed")
	}
	// The metrics count what the capture recorded.
	gaps := s.count(`SELECT count(*) FROM capture_gaps WHERE capture_id = $1`, id)
	closed := s.count(`SELECT count(*) FROM capture_gaps WHERE capture_id = $1 AND ended_at IS NOT NULL`, id)
	if got := testutil.ToFloat64(s.metrics.CaptureGaps.WithLabelValues("rtmp-cam")); int(got) != gaps {
		t.Errorf("sightline_capture_gaps_total %v, database %d", got, gaps)
	}
	if got := testutil.ToFloat64(s.metrics.CaptureReconnects.WithLabelValues("rtmp-cam")); int(got) != closed {
		t.Errorf("sightline_capture_reconnects_total %v, gaps ended by a reconnect %d", got, closed)
	}
	if got, want := testutil.ToFloat64(s.metrics.CaptureFrames.WithLabelValues("rtmp-cam")), s.count(`SELECT count(*) FROM frames WHERE capture_id = $1`, id); int(got) != want {
		t.Errorf("sightline_capture_frames_total %v, frames %d", got, want)
	}
}

// TestHLSCapture reads the same kind of stream over HLS.
func TestHLSCapture(t *testing.T) {
	s := newLiveStack(t, nil)
	_, hlsURL := publish(t, liveName())
	id := testenv.Name("capture-hls")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res contract.CaptureResult
	if err := s.start(id, contract.CaptureInput{StreamID: "hls-cam", Source: hlsURL, Settings: contract.Settings{DurationSeconds: 8, EveryMS: 250, ChunkFrames: 8}}).Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	persons := s.count(`SELECT count(*) FROM detections WHERE capture_id = $1 AND class_name = 'person'`, id)
	t.Logf("HLS capture %+v found %d persons", res, persons)
	if res.Frames < 10 || persons < res.Frames {
		t.Fatalf("HLS capture %+v found %d persons", res, persons)
	}
}

// TestDeadSourceFailsFast: a URL nobody answers fails the capture within
// five seconds, with an error naming the source.
func TestDeadSourceFailsFast(t *testing.T) {
	s := newLiveStack(t, nil)
	// A server that accepts connections and never says a word.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, src := range []string{"rtmp://127.0.0.1:1/live/nobody", "http://127.0.0.1:1/nobody.m3u8",
		"rtsp://" + silent.Addr().String() + "/cam", "http://" + silent.Addr().String() + "/live.m3u8"} {
		id := testenv.Name("capture-dead")
		t0 := time.Now()
		run := s.start(id, contract.CaptureInput{StreamID: "dead", Source: src, Settings: contract.Settings{DurationSeconds: 60}})
		err := run.Get(context.Background(), nil)
		took := time.Since(t0)
		if err == nil || !strings.Contains(err.Error(), src) {
			t.Fatalf("%s: error %v, want one naming the source", src, err)
		}
		if took > 5*time.Second {
			t.Fatalf("%s: failed after %s, want under 5s", src, took)
		}
		t.Logf("%s failed in %s: %v", src, took.Round(time.Millisecond), err)
		var status string
		_ = s.db.QueryRow(context.Background(), `SELECT status FROM captures WHERE id = $1`, id).Scan(&status)
		if status != "failed" {
			t.Fatalf("capture row status %q, want failed", status)
		}
	}
}

// TestYouTubeLiveCapture resolves a YouTube live URL through a fake YouTube
// (its player answer points at the local HLS stream) and captures it end to
// end: resolution, HLS reading, detection and storage.
func TestYouTubeLiveCapture(t *testing.T) {
	_, hlsURL := publish(t, liveName())
	const videoID = "LocalLive01"
	yt := &sourcetest.YouTube{Players: map[string]any{videoID: sourcetest.LivePlayer(videoID, hlsURL)}}
	s := newLiveStack(t, &source.DefaultResolver{Policy: source.Unrestricted, HTTPClient: &http.Client{Transport: yt}})
	id := testenv.Name("capture-yt")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res contract.CaptureResult
	err := s.start(id, contract.CaptureInput{StreamID: "yt-cam", Source: "https://www.youtube.com/watch?v=" + videoID, Settings: contract.Settings{DurationSeconds: 8, EveryMS: 250, ChunkFrames: 8}}).Get(ctx, &res)
	if err != nil {
		t.Fatal(err)
	}
	if yt.Count("POST www.youtube.com/youtubei/v1/player") == 0 {
		t.Fatalf("YouTube was never asked: %v", yt.Requests())
	}
	persons := s.count(`SELECT count(*) FROM detections WHERE capture_id = $1 AND class_name = 'person'`, id)
	if res.Frames < 5 || persons < 3*res.Frames {
		t.Fatalf("YouTube capture %+v found %d persons", res, persons)
	}
}
