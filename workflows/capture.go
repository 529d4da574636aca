// Package workflows holds Sightline's Temporal workflows. Workflows only
// orchestrate: every side effect happens in an activity.
package workflows

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sightline-video/sightline/activities"
	"github.com/sightline-video/sightline/internal/config"
	"github.com/sightline-video/sightline/internal/detector"
)

// Defaults for fields a CaptureInput leaves empty.
const (
	DefaultChunkFrames       = 50
	DefaultDetectConcurrency = 4
	// ProgressQuery is the query name that returns a CaptureProgress.
	ProgressQuery = "progress"
)

// CaptureInput starts a capture. It is the JSON a person pastes into the
// Temporal UI, for example {"stream_id":"lobby","source":"/videos/lobby.avi"}.
type CaptureInput struct {
	StreamID          string  `json:"stream_id"`
	Source            string  `json:"source,omitempty"`             // file path; empty: the stream's registered source
	EveryMS           int     `json:"every_ms,omitempty"`           // sample one frame per this many ms of stream time; 0: every frame
	ChunkFrames       int     `json:"chunk_frames,omitempty"`       // frames per chunk (default 50)
	MaxFrames         int     `json:"max_frames,omitempty"`         // stop after this many sampled frames; 0: the whole source
	DurationSeconds   float64 `json:"duration_seconds,omitempty"`   // stop after this much stream time; 0: no limit
	DetectConcurrency int     `json:"detect_concurrency,omitempty"` // detection activities in flight (default 4)
	DetectTaskQueue   string  `json:"detect_task_queue,omitempty"`  // default "sightline-detect"
	SkipRollup        bool    `json:"skip_rollup,omitempty"`        // leave the rollup to a later run
	// Detect chooses the model and filters detections, e.g.
	// {"model":"picodet_s_416_coco","filter":{"classes":["person","car"]}};
	// empty: the stream's settings, else the worker's default model.
	Detect *detector.Config `json:"detect,omitempty"`
}

// CaptureResult summarises a finished capture.
type CaptureResult struct {
	CaptureID  string `json:"capture_id"`
	Frames     int    `json:"frames"`
	Chunks     int    `json:"chunks"`
	Detections int    `json:"detections"`
}

// CaptureProgress is what the progress query returns.
type CaptureProgress struct {
	Phase          string `json:"phase"` // capturing, detecting, rollup, done
	FramesCaptured int    `json:"frames_captured"`
	Chunks         int    `json:"chunks"`
	ChunksDetected int    `json:"chunks_detected"`
	FramesAnalysed int    `json:"frames_analysed"`
	Detections     int    `json:"detections"`
	// LagMS is the time from a chunk being stored to its detections being
	// stored, for the last chunk detected; MaxLagMS is the worst so far.
	LagMS    int64 `json:"lag_ms"`
	MaxLagMS int64 `json:"max_lag_ms"`
}

// NewCaptureID returns a fresh workflow (and capture) id for a stream:
// readable, sortable by start time, and unique thanks to a random suffix.
func NewCaptureID(streamID string, now time.Time) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return fmt.Sprintf("capture-%s-%s-%s", streamID, now.UTC().Format("20060102T150405Z"), hex.EncodeToString(b))
}

func (in *CaptureInput) withDefaults() error {
	if in.StreamID == "" {
		return errors.New("stream_id is required")
	}
	if in.EveryMS < 0 || in.ChunkFrames < 0 || in.MaxFrames < 0 || in.DetectConcurrency < 0 || in.DurationSeconds < 0 {
		return errors.New("every_ms, chunk_frames, max_frames, duration_seconds and detect_concurrency must not be negative")
	}
	if in.ChunkFrames == 0 {
		in.ChunkFrames = DefaultChunkFrames
	}
	if in.DetectConcurrency == 0 {
		in.DetectConcurrency = DefaultDetectConcurrency
	}
	if in.DetectTaskQueue == "" {
		in.DetectTaskQueue = config.DefaultDetectTaskQueue
	}
	return nil
}

// a is only used to name activity methods; Temporal calls the registered instance.
var a *activities.Activities

// CaptureWorkflow captures frames from a source into chunks, detects objects
// in every chunk with bounded concurrency on the detect task queue, and then
// rolls the results up. The capture id is the workflow id.
func CaptureWorkflow(ctx workflow.Context, in CaptureInput) (CaptureResult, error) {
	info := workflow.GetInfo(ctx)
	res := CaptureResult{CaptureID: info.WorkflowExecution.ID}
	if err := in.withDefaults(); err != nil {
		return res, temporal.NewNonRetryableApplicationError("invalid capture input: "+err.Error(), "BadInput", nil)
	}
	prog := CaptureProgress{Phase: "starting"}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (CaptureProgress, error) { return prog, nil }); err != nil {
		return res, err
	}
	logger := workflow.GetLogger(ctx)
	startedAt := info.WorkflowStartTime.UTC()

	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 30 * time.Second, NonRetryableErrorTypes: []string{"BadInput"}},
	})
	var begun activities.BeginCaptureResult
	err := workflow.ExecuteActivity(short, a.BeginCapture, activities.BeginCaptureInput{
		CaptureID: res.CaptureID, StreamID: in.StreamID, Source: in.Source, EveryMS: in.EveryMS,
		ChunkFrames: in.ChunkFrames, StartedAt: startedAt, Detect: in.Detect,
	}).Get(ctx, &begun)
	if err != nil {
		return res, fmt.Errorf("begin capture: %w", err)
	}
	in.Detect = begun.Detect

	// From here on a failure is recorded on the capture row before the
	// workflow fails, on a context that survives cancellation.
	finish := func(status string, cause error) {
		dctx, _ := workflow.NewDisconnectedContext(short)
		msg := ""
		if cause != nil {
			msg = cause.Error()
		}
		if err := workflow.ExecuteActivity(dctx, a.FinishCapture, activities.FinishCaptureInput{
			CaptureID: res.CaptureID, Status: status, Frames: res.Frames, Error: msg,
		}).Get(dctx, nil); err != nil {
			logger.Error("recording capture outcome failed", "error", err)
		}
	}
	fail := func(what string, err error) (CaptureResult, error) {
		status := "failed"
		if temporal.IsCanceledError(err) {
			status = "canceled"
		}
		finish(status, err)
		return res, fmt.Errorf("%s: %w", what, err)
	}

	prog.Phase = "capturing"
	capCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:    10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{"BadSource", "BadInput"},
		},
	})
	detCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           in.DetectTaskQueue,
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{"BadChunk"},
		},
	})
	capCtx, cancelCapture := workflow.WithCancel(capCtx)
	capture := workflow.ExecuteActivity(capCtx, a.CaptureFrames, activities.CaptureInput{
		CaptureID: res.CaptureID, StreamID: in.StreamID, Source: begun.Source, EveryMS: in.EveryMS,
		ChunkFrames: in.ChunkFrames, MaxFrames: in.MaxFrames, DurationMS: int64(in.DurationSeconds * 1000),
		StartedAt: startedAt,
	})
	// Detection starts on each chunk as soon as the capture signals it, while
	// capture goes on; the capture's result lists every chunk again, so a
	// chunk whose signal was lost is still detected.
	p := newPipeline(ctx, detCtx, in, res.CaptureID, startedAt, &prog)
	var captured activities.CaptureProgress
	var captureErr error
	captureDone := false
	p.sel.AddReceive(workflow.GetSignalChannel(ctx, activities.ChunkReadySignal), func(c workflow.ReceiveChannel, _ bool) {
		var ref activities.ChunkRef
		c.Receive(ctx, &ref)
		p.add(ref)
	})
	p.sel.AddFuture(capture, func(f workflow.Future) {
		captureDone = true
		if captureErr = f.Get(ctx, &captured); captureErr == nil {
			for _, c := range captured.Chunks {
				p.add(c)
			}
			prog.Phase = "detecting"
		}
	})
	for {
		p.launch()
		if captureErr != nil {
			return fail("capture", captureErr)
		}
		if p.err != nil {
			cancelCapture()
			return fail("detect", p.err)
		}
		if captureDone && p.idle() {
			break
		}
		p.sel.Select(ctx)
	}
	res.Frames, res.Chunks = captured.Sampled, len(captured.Chunks)
	res.Detections = prog.Detections

	if !in.SkipRollup {
		prog.Phase = "rollup"
		// Runs started before RollupWorkflow existed replay the activity.
		if workflow.GetVersion(ctx, "rollup-child-workflow", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			rollCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				StartToCloseTimeout: 30 * time.Minute,
				RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute, MaximumAttempts: 10},
			})
			if err := workflow.ExecuteActivity(rollCtx, a.RunRollup, activities.RollupInput{}).Get(ctx, nil); err != nil {
				return fail("rollup", err)
			}
		} else {
			// A child workflow, so each model shows in the Temporal UI. Its id
			// is the SDK's default (from the run id): one derived from the
			// workflow id would not match when a replayer renames the run.
			rollCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{})
			if err := workflow.ExecuteChildWorkflow(rollCtx, RollupWorkflow, RollupInput{}).Get(ctx, nil); err != nil {
				return fail("rollup", err)
			}
		}
	}
	finish("completed", nil)
	prog.Phase = "done"
	return res, nil
}
