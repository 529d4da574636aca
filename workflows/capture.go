// Package workflows holds Sightline's Temporal workflows. Workflows only
// orchestrate: every side effect happens in an activity.
package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sightline-video/sightline/activities"
	"github.com/sightline-video/sightline/internal/contract"
)

// a is only used to name activity methods; Temporal calls the registered instance.
var a *activities.Activities

// CaptureWorkflow captures frames from a source into chunks, detects objects
// in every chunk with bounded concurrency on the detect task queue, and then
// rolls the results up. The capture id is the workflow id.
//
// Canceling it (from the API, the CLI or the Temporal UI) stops the capture
// but keeps what it stored: the frames read so far are written as a last
// chunk, every stored chunk is detected and rolled up, the capture is
// recorded as canceled, and the workflow ends canceled.
func CaptureWorkflow(ctx workflow.Context, in contract.CaptureInput) (contract.CaptureResult, error) {
	info := workflow.GetInfo(ctx)
	res := contract.CaptureResult{CaptureID: info.WorkflowExecution.ID}
	if err := in.Validate(); err != nil {
		return res, temporal.NewNonRetryableApplicationError("invalid capture input: "+err.Error(), "BadInput", nil)
	}
	in.Settings = in.Settings.WithDefaults()
	prog := contract.CaptureProgress{Phase: "starting"}
	if err := workflow.SetQueryHandler(ctx, contract.ProgressQuery, func() (contract.CaptureProgress, error) { return prog, nil }); err != nil {
		return res, err
	}
	logger := workflow.GetLogger(ctx)
	startedAt := info.WorkflowStartTime.UTC()

	short := workflow.WithActivityOptions(ctx, shortActivity)
	// finish records the capture's outcome, on a context that survives
	// cancellation.
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
	// A cancel that arrives while BeginCapture records the capture would
	// leave its row running for ever: newer runs let BeginCapture finish,
	// then record the capture canceled.
	beginCtx := short
	cancelSafe := workflow.GetVersion(ctx, "begin-survives-cancel", workflow.DefaultVersion, 1) >= 1
	if cancelSafe {
		beginCtx, _ = workflow.NewDisconnectedContext(short)
	}
	var begun activities.BeginCaptureResult
	err := workflow.ExecuteActivity(beginCtx, a.BeginCapture, activities.BeginCaptureInput{
		CaptureID: res.CaptureID, StreamID: in.StreamID, Source: in.Source, StartedAt: startedAt, Settings: in.Settings,
	}).Get(beginCtx, &begun)
	if err != nil {
		return res, fmt.Errorf("begin capture: %w", err)
	}
	if cancelSafe && ctx.Err() != nil {
		finish("canceled", nil)
		return res, ctx.Err()
	}
	in.Detect, in.Tracking = begun.Detect, begun.Tracking
	// Runs started before tracking existed neither track nor count.
	track := workflow.GetVersion(ctx, "tracking", workflow.DefaultVersion, 1) >= 1
	// Runs started before detection modes existed detect every chunk in order.
	modes := workflow.GetVersion(ctx, "detect-modes", workflow.DefaultVersion, 1) >= 1
	// A stream's window tells its StreamWorkflow when it stops capturing,
	// so the next window starts without waiting for this one's detection.
	parent := info.ParentWorkflowExecution
	if parent != nil && workflow.GetVersion(ctx, "window-captured", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		parent = nil
	}
	if modes && in.Mode == "" {
		in.Mode = begun.Mode
	}

	// From here on a failure is recorded on the capture row before the
	// workflow fails.
	fail := func(what string, err error) (contract.CaptureResult, error) {
		status := "failed"
		if temporal.IsCanceledError(err) {
			status = "canceled"
		}
		finish(status, err)
		return res, fmt.Errorf("%s: %w", what, err)
	}

	// Runs started before a cancel kept the stored frames fail at once when canceled.
	keepOnCancel := workflow.GetVersion(ctx, "cancel-keeps-frames", workflow.DefaultVersion, 1) >= 1

	prog.Phase = "capturing"
	capCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:    10 * time.Second,
		// Wait for the capture to store its last frames before listing them.
		WaitForCancellation: keepOnCancel,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{"BadSource", "BadInput"},
		},
	})
	capCtx, cancelCapture := workflow.WithCancel(capCtx)
	capture := workflow.ExecuteActivity(capCtx, a.CaptureFrames, activities.CaptureInput{
		CaptureID: res.CaptureID, StreamID: in.StreamID, Source: begun.Source, Settings: in.Settings, StartedAt: startedAt,
		KnownLive: in.KnownLive,
	})
	// Detection starts on each chunk as soon as the capture signals it, while
	// capture goes on; the capture's result lists every chunk again, so a
	// chunk whose signal was lost is still detected.
	p := newPipeline(ctx, in, res.CaptureID, startedAt, &prog, track, modes)
	var captured activities.CaptureProgress
	var captureErr error
	captureDone := false
	p.sel.AddReceive(workflow.GetSignalChannel(ctx, activities.ChunkReadySignal), func(c workflow.ReceiveChannel, _ bool) {
		var ref activities.ChunkRef
		c.Receive(ctx, &ref)
		p.add(ref)
	})
	p.sel.AddReceive(workflow.GetSignalChannel(ctx, contract.ModeSignal), func(c workflow.ReceiveChannel, _ bool) {
		var mode string
		c.Receive(ctx, &mode)
		p.setMode(mode)
	})
	p.sel.AddFuture(capture, func(f workflow.Future) {
		captureDone = true
		if captureErr = f.Get(ctx, &captured); captureErr == nil {
			for _, c := range captured.Chunks {
				p.add(c)
			}
			prog.Phase = "detecting"
			if parent != nil {
				// Best effort: a parent that misses it starts the next
				// window when this one ends.
				workflow.SignalExternalWorkflow(ctx, parent.ID, parent.RunID, contract.WindowCapturedSignal, res.CaptureID)
			}
		}
	})
	for {
		if keepOnCancel && ctx.Err() != nil {
			return canceled(ctx, in, p, capture, captureDone, &res, finish)
		}
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
	res.Detections, res.FramesSkipped = prog.Detections, prog.FramesSkipped
	if err := p.finishTracking(ctx); err != nil {
		return fail("finish tracking", err)
	}
	res.Tracks, res.Crossings = prog.Tracks, prog.Crossings

	if !in.SkipRollup {
		prog.Phase = "rollup"
		if err := rollup(ctx, parent != nil); err != nil {
			return fail("rollup", err)
		}
	}
	finish("completed", nil)
	prog.Phase = "done"
	return res, nil
}

// shortActivity are the options of the bookkeeping activities.
var shortActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 30 * time.Second, NonRetryableErrorTypes: []string{"BadInput"}},
}

// rollup runs the rollup models after a capture. The windows of streams
// share one rollup per task queue (window is true for them): when it is
// already running, a window leaves its rows to the next one instead of
// starting another, so N streams ending their windows together cost one
// rollup, not N competing for the same tables.
func rollup(ctx workflow.Context, window bool) error {
	// Runs started before RollupWorkflow existed replay the activity.
	if workflow.GetVersion(ctx, "rollup-child-workflow", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		rollCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute, MaximumAttempts: 10},
		})
		return workflow.ExecuteActivity(rollCtx, a.RunRollup, activities.RollupInput{}).Get(ctx, nil)
	}
	if window && workflow.GetVersion(ctx, "shared-window-rollup", workflow.DefaultVersion, 1) >= 1 {
		rollCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            "rollup-windows-" + workflow.GetInfo(ctx).TaskQueueName,
			RetryPolicy:           contract.RollupRetry,
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		})
		err := workflow.ExecuteChildWorkflow(rollCtx, RollupWorkflow, contract.RollupInput{}).Get(ctx, nil)
		var running *temporal.ChildWorkflowExecutionAlreadyStartedError
		if errors.As(err, &running) {
			return nil // the next rollup of the windows takes these rows too: rollups are incremental
		}
		return err
	}
	// A child workflow, so each model shows in the Temporal UI. Its id is the
	// SDK's default (from the run id): one derived from the workflow id would
	// not match when a replayer renames the run.
	rollCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{RetryPolicy: contract.RollupRetry})
	return workflow.ExecuteChildWorkflow(rollCtx, RollupWorkflow, contract.RollupInput{}).Get(ctx, nil)
}

// canceled finishes a canceled capture on a context that outlives the
// cancellation: it waits for the capture activity to store its last frames,
// detects every stored chunk not yet detected, rolls up, records the capture
// as canceled and returns the cancellation, so the workflow ends canceled.
func canceled(ctx workflow.Context, in contract.CaptureInput, p *pipeline, capture workflow.Future, captureDone bool,
	res *contract.CaptureResult, finish func(string, error)) (contract.CaptureResult, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	p.prog.Phase = "canceling"
	if !captureDone {
		_ = capture.Get(dctx, nil) // its cancellation: it has stopped
	}
	var stored []activities.ChunkRef
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(dctx, shortActivity), a.StoredChunks,
		res.CaptureID).Get(dctx, &stored); err != nil {
		finish("canceled", err)
		return *res, fmt.Errorf("list stored chunks: %w", err)
	}
	p.rebase(dctx, stored)
	for {
		p.launch()
		if p.err != nil {
			res.Frames, res.Chunks, res.Detections = p.prog.FramesCaptured, p.prog.Chunks, p.prog.Detections
			finish("canceled", p.err)
			return *res, fmt.Errorf("detect after cancel: %w", p.err)
		}
		if p.idle() {
			break
		}
		p.sel.Select(dctx)
	}
	res.Frames, res.Chunks, res.Detections = p.prog.FramesCaptured, p.prog.Chunks, p.prog.Detections
	if err := p.finishTracking(dctx); err != nil {
		finish("canceled", err)
		return *res, fmt.Errorf("finish tracking after cancel: %w", err)
	}
	res.Tracks, res.Crossings = p.prog.Tracks, p.prog.Crossings
	if !in.SkipRollup {
		p.prog.Phase = "rollup"
		if err := rollup(dctx, workflow.GetInfo(ctx).ParentWorkflowExecution != nil); err != nil {
			workflow.GetLogger(ctx).Warn("rollup after cancel failed; the next rollup catches up", "error", err)
		}
	}
	finish("canceled", nil)
	p.prog.Phase = "done"
	return *res, ctx.Err()
}
