package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/sightline-video/sightline/activities"
	dbtlike "github.com/sightline-video/sightline/dbt_like"
	"github.com/sightline-video/sightline/internal/config"
	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/testenv"
	"github.com/sightline-video/sightline/worker"
)

// syncBuffer is written by runCapture while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// captureStack runs an in-process worker on fresh task queues, database and
// bucket, and returns the config a CLI would use to reach it.
func captureStack(t *testing.T) (config.Config, client.Client) {
	t.Helper()
	pool, _ := testenv.DB(t)
	tc := testenv.Temporal(t)
	dets, err := detector.NewModels(nil, detector.Options{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	project, err := dbtlike.DefaultProject()
	if err != nil {
		t.Fatal(err)
	}
	acts := &activities.Activities{DB: pool, Store: testenv.Store(t), Detectors: dets, Rollup: project, Temporal: tc}
	cfg := testenv.Config()
	cfg.TaskQueue, cfg.DetectTaskQueue = testenv.Name("main"), testenv.Name("detect")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := worker.Run(ctx, tc, acts, worker.Options{TaskQueue: cfg.TaskQueue, DetectTaskQueue: cfg.DetectTaskQueue, DetectConcurrency: 2}); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done; _ = dets.Close() })
	return cfg, tc
}

func TestCaptureFollowsToCompletion(t *testing.T) {
	cfg, tc := captureStack(t)
	var out syncBuffer
	video := testenv.SharedFile(t, "vtest.avi")
	err := runCapture(context.Background(), cfg, tc, []string{"--max-frames", "40", "--chunk-frames", "10", video},
		captureIO{out: &out, in: strings.NewReader(""), interrupt: make(chan os.Signal)})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "completed: 40 frames in 4 chunks") || !strings.Contains(out.String(), `stream "vtest"`) {
		t.Fatalf("output:\n%s", out.String())
	}
}

func TestCaptureCtrlCCancelsOrLeavesRunning(t *testing.T) {
	cfg, tc := captureStack(t)
	video := testenv.SharedFile(t, "vtest.avi")
	for _, answer := range []string{"y\n", "n\n"} {
		var out syncBuffer
		intr := make(chan os.Signal, 1)
		errc := make(chan error, 1)
		go func() {
			errc <- runCapture(context.Background(), cfg, tc, []string{"--stream", "ctrlc", "--chunk-frames", "10", video},
				captureIO{out: &out, in: strings.NewReader(answer), interrupt: intr})
		}()
		waitForOutput(t, &out, "frames captured")
		intr <- os.Interrupt
		if err := <-errc; err != nil {
			t.Fatalf("answer %q: %v\n%s", answer, err, out.String())
		}
		id := captureIDFrom(t, out.String())
		desc, err := tc.DescribeWorkflowExecution(context.Background(), id, "")
		if err != nil {
			t.Fatal(err)
		}
		status := desc.GetWorkflowExecutionInfo().GetStatus()
		switch answer {
		case "y\n":
			if status != enums.WORKFLOW_EXECUTION_STATUS_CANCELED || !strings.Contains(out.String(), "canceled") {
				t.Fatalf("after yes: status %v, output:\n%s", status, out.String())
			}
		default:
			if status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING || !strings.Contains(out.String(), "left running") {
				t.Fatalf("after no: status %v, output:\n%s", status, out.String())
			}
			_ = tc.TerminateWorkflow(context.Background(), id, "", "test done")
		}
	}
}

func TestCaptureRejectsBadArguments(t *testing.T) {
	var out syncBuffer
	io := captureIO{out: &out, in: strings.NewReader(""), interrupt: make(chan os.Signal)}
	if err := runCapture(context.Background(), config.Config{}, nil, nil, io); err == nil || !strings.Contains(err.Error(), "SOURCE") {
		t.Errorf("no source: %v", err)
	}
	if err := runCapture(context.Background(), config.Config{}, nil, []string{"--stream", "Bad Id", "x.avi"}, io); err == nil ||
		!strings.Contains(err.Error(), `"Bad Id"`) {
		t.Errorf("bad stream id: %v", err)
	}
}

func TestStreamIDFor(t *testing.T) {
	for src, want := range map[string]string{
		"/videos/Front Door.mp4":                      "front-door",
		"rtsp://cam1.local:554/live/ch0?token=secret": "cam1-local-554-ch0",
		"https://www.youtube.com/watch?v=abc":         "www-youtube-com-watch",
		"vtest.avi":                                   "vtest",
	} {
		if got := streamIDFor(src); got != want {
			t.Errorf("streamIDFor(%q) = %q, want %q", src, got, want)
		}
	}
}

func waitForOutput(t *testing.T, out *syncBuffer, s string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output:\n%s", s, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func captureIDFrom(t *testing.T, out string) string {
	t.Helper()
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "capture-") {
			return f
		}
	}
	t.Fatalf("no capture id in output:\n%s", out)
	return ""
}
