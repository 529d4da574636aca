package workflows

import (
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Defaults for StreamInput.
const (
	DefaultWindowSeconds = 300
	DefaultWindowsPerRun = 50
	// MaxConsecutiveFailures stops a stream whose windows keep failing, so a
	// source that is gone for good does not retry forever.
	MaxConsecutiveFailures = 5
	// StreamProgressQuery returns a StreamProgress.
	StreamProgressQuery = "stream-progress"
)

// StreamInput watches a stream for a long time, one capture window after
// another: {"stream_id":"lobby","window_seconds":300,"every_ms":1000}.
type StreamInput struct {
	StreamID          string  `json:"stream_id"`
	WindowSeconds     float64 `json:"window_seconds,omitempty"` // length of each capture (default 300)
	EveryMS           int     `json:"every_ms,omitempty"`
	ChunkFrames       int     `json:"chunk_frames,omitempty"`
	DetectConcurrency int     `json:"detect_concurrency,omitempty"`
	DetectTaskQueue   string  `json:"detect_task_queue,omitempty"`
	MaxWindows        int     `json:"max_windows,omitempty"`     // stop after this many windows; 0: never
	WindowsPerRun     int     `json:"windows_per_run,omitempty"` // continue-as-new after this many (default 50)

	// Carried over continue-as-new; leave them out when starting.
	Window   int `json:"window,omitempty"`   // index of the next window
	Failures int `json:"failures,omitempty"` // consecutive failed windows
}

// StreamProgress is what StreamProgressQuery returns.
type StreamProgress struct {
	Window        int    `json:"window"`       // index of the current window
	CurrentID     string `json:"current_id"`   // its CaptureWorkflow id
	WindowsDone   int    `json:"windows_done"` // in this run
	Failures      int    `json:"failures"`     // consecutive failed windows
	LastError     string `json:"last_error,omitempty"`
	FramesInRun   int    `json:"frames_in_run"`
	DetectionsRun int    `json:"detections_in_run"`
}

// StreamWorkflow runs CaptureWorkflow children back to back, window after
// window, and continues as new every WindowsPerRun windows (or when Temporal
// suggests it) so its history stays bounded. Child ids are
// "<stream workflow id>-w<window>", so each window is captured once even
// across continue-as-new. A failed window is recorded and the next one
// starts after a pause; MaxConsecutiveFailures in a row end the workflow.
func StreamWorkflow(ctx workflow.Context, in StreamInput) error {
	if in.StreamID == "" {
		return temporal.NewNonRetryableApplicationError("invalid stream input: stream_id is required", "BadInput", nil)
	}
	if in.WindowSeconds < 0 || in.MaxWindows < 0 || in.WindowsPerRun < 0 || in.EveryMS < 0 {
		return temporal.NewNonRetryableApplicationError("invalid stream input: negative values", "BadInput", nil)
	}
	if in.WindowSeconds == 0 {
		in.WindowSeconds = DefaultWindowSeconds
	}
	if in.WindowsPerRun == 0 {
		in.WindowsPerRun = DefaultWindowsPerRun
	}
	info := workflow.GetInfo(ctx)
	prog := StreamProgress{Window: in.Window, Failures: in.Failures}
	if err := workflow.SetQueryHandler(ctx, StreamProgressQuery, func() (StreamProgress, error) { return prog, nil }); err != nil {
		return err
	}
	logger := workflow.GetLogger(ctx)
	window := time.Duration(in.WindowSeconds * float64(time.Second))

	for run := 0; run < in.WindowsPerRun; run++ {
		if in.MaxWindows > 0 && in.Window >= in.MaxWindows {
			return nil
		}
		if run > 0 && info.GetContinueAsNewSuggested() {
			break
		}
		id := fmt.Sprintf("%s-w%06d", info.WorkflowExecution.ID, in.Window)
		prog.Window, prog.CurrentID = in.Window, id
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:        id,
			ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
			// A window must not run twice, even if this workflow is reset.
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		})
		var res CaptureResult
		err := workflow.ExecuteChildWorkflow(cctx, CaptureWorkflow, CaptureInput{
			StreamID: in.StreamID, EveryMS: in.EveryMS, ChunkFrames: in.ChunkFrames,
			DurationSeconds: in.WindowSeconds, DetectConcurrency: in.DetectConcurrency,
			DetectTaskQueue: in.DetectTaskQueue,
		}).Get(ctx, &res)
		in.Window++
		prog.WindowsDone++
		if err != nil {
			if temporal.IsCanceledError(err) || ctx.Err() != nil {
				return err
			}
			var already *temporal.ChildWorkflowExecutionAlreadyStartedError
			if errors.As(err, &already) {
				continue // this window was captured by an earlier run
			}
			in.Failures++
			prog.Failures, prog.LastError = in.Failures, err.Error()
			logger.Warn("capture window failed", "window", id, "failures", in.Failures, "error", err)
			if in.Failures >= MaxConsecutiveFailures {
				return fmt.Errorf("stream %s: %d windows in a row failed, last: %w", in.StreamID, in.Failures, err)
			}
			// Back off before the next window so a dead source is not hammered.
			if err := workflow.Sleep(ctx, min(window, time.Minute)); err != nil {
				return err
			}
			continue
		}
		in.Failures = 0
		prog.Failures = 0
		prog.FramesInRun += res.Frames
		prog.DetectionsRun += res.Detections
	}
	if in.MaxWindows > 0 && in.Window >= in.MaxWindows {
		return nil
	}
	return workflow.NewContinueAsNewError(ctx, StreamWorkflow, in)
}
