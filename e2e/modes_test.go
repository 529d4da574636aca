package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/sightline-video/sightline/api"
	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/source"
	"github.com/sightline-video/sightline/internal/testenv"
	"github.com/sightline-video/sightline/worker"
	"github.com/sightline-video/sightline/workflows"
)

// modeOutcome is what a capture under overload kept and skipped, from its rows.
type modeOutcome struct {
	chunks, detected, skipped int
	captured, analysed        int // frames
	skippedFrames             int
	framesInSkipped           int // frame rows of skipped chunks: must be none
	maxLag                    float64
	lastLag                   float64 // of the newest chunk detected
}

func (s *liveStack) modeOutcome(id string) modeOutcome {
	s.t.Helper()
	var o modeOutcome
	ctx := context.Background()
	err := s.db.QueryRow(ctx, `SELECT count(*), count(detected_at), count(skipped_at), coalesce(sum(frame_count), 0),
		coalesce(sum(frame_count) FILTER (WHERE skipped_at IS NOT NULL), 0),
		coalesce(max(extract(epoch FROM detected_at - written_at)), 0)::float8,
		coalesce((SELECT extract(epoch FROM detected_at - written_at) FROM chunks
		          WHERE capture_id = $1 AND detected_at IS NOT NULL ORDER BY seq DESC LIMIT 1), 0)::float8
		FROM chunks WHERE capture_id = $1`, id).
		Scan(&o.chunks, &o.detected, &o.skipped, &o.captured, &o.skippedFrames, &o.maxLag, &o.lastLag)
	if err != nil {
		s.t.Fatal(err)
	}
	o.analysed = s.count(`SELECT count(*) FROM frames WHERE capture_id = $1`, id)
	o.framesInSkipped = s.count(`SELECT count(*) FROM frames f JOIN chunks c ON c.capture_id = f.capture_id AND c.seq = f.chunk_seq
		WHERE f.capture_id = $1 AND c.skipped_at IS NOT NULL`, id)
	return o
}

// TestModesUnderOverload overloads detection for real: a live RTMP stream
// gives a chunk a second while the detect worker may start only one chunk
// every 2.5 s. Complete mode detects every frame and falls ever further
// behind; realtime mode (the default for a live source) keeps its lag
// bounded by detecting the newest chunks and skipping the stale ones, which
// it records; and a running StreamWorkflow switches from complete to
// realtime through the API.
func TestModesUnderOverload(t *testing.T) {
	s := newDetectStack(t, nil, detector.Options{}, 2, func(o *worker.Options) { o.DetectChunksPerSecond = 0.4 })
	name := liveName()
	rtmpURL, _ := publish(t, name)
	set := contract.Settings{DurationSeconds: 12, EveryMS: 200, ChunkFrames: 5, SkipRollup: true}

	wait := func(run client.WorkflowRun) contract.CaptureResult {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var res contract.CaptureResult
		if err := run.Get(ctx, &res); err != nil {
			t.Fatalf("capture %s: %v", run.GetID(), err)
		}
		return res
	}

	// Complete: every frame is detected, late.
	completeSet := set
	completeSet.Mode = contract.ModeComplete
	complete := s.start("complete-"+name, contract.CaptureInput{StreamID: "overload", Source: rtmpURL, Settings: completeSet})
	wait(complete)
	c := s.modeOutcome(complete.GetID())
	t.Logf("complete: %+v", c)
	if c.skipped != 0 || c.detected != c.chunks || c.analysed != c.captured || c.chunks < 8 {
		t.Errorf("complete mode must detect every chunk of at least 8: %+v", c)
	}
	if c.maxLag < 8 {
		t.Errorf("complete mode's worst lag %.1f s: detection was not overloaded", c.maxLag)
	}

	// Realtime, by default for a live source: lag bounded, the rest skipped.
	realtime := s.start("realtime-"+name, contract.CaptureInput{StreamID: "overload", Source: rtmpURL, Settings: set})
	res := wait(realtime)
	r := s.modeOutcome(realtime.GetID())
	t.Logf("realtime: %+v, result %+v", r, res)
	switch {
	case r.skipped == 0:
		t.Errorf("realtime mode skipped nothing under overload: %+v", r)
	case r.detected+r.skipped != r.chunks:
		t.Errorf("every chunk must be detected or skipped: %+v", r)
	case r.analysed+r.skippedFrames != r.captured || res.FramesSkipped != r.skippedFrames:
		t.Errorf("analysed %d + skipped %d frames != captured %d (result says %d skipped)", r.analysed, r.skippedFrames, r.captured, res.FramesSkipped)
	case r.framesInSkipped != 0:
		t.Errorf("%d frame rows in skipped chunks: a skipped frame must not count as analysed", r.framesInSkipped)
	}
	testenv.Replay(t, s.tc, realtime.GetID(), "capture_realtime_history.json", workflows.CaptureWorkflow, workflows.RollupWorkflow)
	// Waiting at most 2 s (two chunks) plus one 2.5 s turn of the throttle.
	if r.maxLag > 6.5 || r.maxLag >= c.maxLag/2 {
		t.Errorf("realtime's worst lag %.1f s, complete's %.1f s: realtime must stay bounded", r.maxLag, c.maxLag)
	}

	// A running StreamWorkflow in complete mode switches through the API.
	srv := httptest.NewServer(api.New(api.Deps{DB: s.db, Temporal: s.tc, TaskQueue: s.queue, DetectTaskQueue: s.detect,
		SourcePolicy: source.Unrestricted}).Handler())
	defer srv.Close()
	cl := apiClient{t: t, base: srv.URL}
	cl.must(http.StatusCreated, http.MethodPost, "/api/v1/streams", `{"id":"switched","source":"`+rtmpURL+`"}`, nil)
	streamSet := set
	// The window rolls up through the windows' shared rollup, which its replayed history covers.
	streamSet.Mode, streamSet.DurationSeconds, streamSet.DetectTaskQueue, streamSet.SkipRollup = contract.ModeComplete, 14, s.detect, false
	wfID := "stream-switched-" + name
	run, err := s.tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: wfID, TaskQueue: s.queue},
		workflows.StreamWorkflow, contract.StreamInput{StreamID: "switched", Settings: streamSet, MaxWindows: 1})
	if err != nil {
		t.Fatal(err)
	}
	window := wfID + "-w000000"
	waitFor(t, "a backlog in the window", time.Minute, func() bool {
		return s.count(`SELECT count(*) FROM chunks WHERE capture_id = $1 AND detected_at IS NULL`, window) >= 3
	})
	var sw api.ModeSwitched
	cl.must(http.StatusOK, http.MethodPut, "/api/v1/streams/switched/mode", `{"mode":"realtime"}`, &sw)
	if !slices.Equal(sw.StreamWorkflows, []string{wfID}) {
		t.Errorf("switch reached %+v, want the stream workflow %s", sw, wfID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := run.Get(ctx, nil); err != nil {
		t.Fatalf("stream workflow: %v", err)
	}
	testenv.Replay(t, s.tc, wfID, "stream_mode_switch_history.json", workflows.StreamWorkflow, workflows.CaptureWorkflow)
	testenv.Replay(t, s.tc, window, "capture_window_history.json", workflows.CaptureWorkflow, workflows.RollupWorkflow)
	w := s.modeOutcome(window)
	t.Logf("switched window: %+v", w)
	if w.skipped == 0 || w.detected+w.skipped != w.chunks || w.framesInSkipped != 0 {
		t.Errorf("after the switch the window must skip stale chunks and record them: %+v", w)
	}
}
