package workflows

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sightline-video/sightline/internal/contract"
)

// MaxConsecutiveFailures stops a stream whose windows keep failing, so a
// source that is gone for good does not retry forever.
const MaxConsecutiveFailures = 5

// StreamWorkflow runs CaptureWorkflow children back to back, window after
// window, and continues as new every WindowsPerRun windows (or when Temporal
// suggests it) so its history stays bounded. Child ids are
// "<stream workflow id>-w<window>", so each window is captured once even
// across continue-as-new. A failed window is recorded and the next one
// starts after a pause; MaxConsecutiveFailures in a row end the workflow.
func StreamWorkflow(ctx workflow.Context, in contract.StreamInput) error {
	if err := in.Validate(); err != nil {
		return temporal.NewNonRetryableApplicationError("invalid stream input: "+err.Error(), "BadInput", nil)
	}
	if in.WindowsPerRun == 0 {
		in.WindowsPerRun = contract.DefaultWindowsPerRun
	}
	prog := contract.StreamProgress{Window: in.Window, Failures: in.Failures}
	if err := workflow.SetQueryHandler(ctx, contract.StreamProgressQuery, func() (contract.StreamProgress, error) { return prog, nil }); err != nil {
		return err
	}
	logger := workflow.GetLogger(ctx)
	// The detection mode can be switched while the stream runs: the current
	// window switches at once, the next ones start in the new mode.
	var current workflow.ChildWorkflowFuture
	prog.Mode = in.Mode
	err := workflow.SetUpdateHandlerWithOptions(ctx, contract.ModeUpdate, func(ctx workflow.Context, mode string) (string, error) {
		in.Mode, prog.Mode = mode, mode
		if current != nil {
			if err := current.SignalChildWorkflow(ctx, contract.ModeSignal, mode).Get(ctx, nil); err != nil {
				logger.Info("the current window did not take the mode; the next one will", "mode", mode, "error", err)
			}
		}
		return mode, nil
	}, workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, mode string) error { return contract.ValidateMode(mode) }})
	if err != nil {
		return err
	}

	// Runs from before windows overlapped wait for each window to end.
	if workflow.GetVersion(ctx, "overlap-windows", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		if err := sequentialWindows(ctx, &in, &prog, &current); err != nil {
			return err
		}
	} else if err := overlappingWindows(ctx, &in, &prog, &current); err != nil {
		return err
	}
	if in.MaxWindows > 0 && in.Window >= in.MaxWindows {
		return nil
	}
	// A mode update still passing itself on finishes first.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	return workflow.NewContinueAsNewError(ctx, StreamWorkflow, in)
}

// staggered shortens a stream's first window to between half and all of
// its length, by a share derived from the workflow id. Streams started
// together then end their windows, and reopen their sources, at different
// times: a worker opens one source at a time (see source.Open), so aligned
// windows would make the last of N streams wait N opens at every window.
func staggered(workflowID string, seconds float64) float64 {
	sum := sha256.Sum256([]byte(workflowID))
	share := float64(binary.BigEndian.Uint32(sum[:4])) / (1 << 32)
	return seconds * (1 - share/2)
}

// windowOptions are a window's child options: its id is the stream
// workflow's with the window's index, never reused.
func windowOptions(ctx workflow.Context, id string) workflow.Context {
	return workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        id,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		// A window must not run twice, even if this workflow is reset.
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	})
}

// sequentialWindows runs the windows of one run one after the other, each
// to its end (detection, tracking and rollup included), as runs started
// before windows overlapped did.
func sequentialWindows(ctx workflow.Context, in *contract.StreamInput, prog *contract.StreamProgress, current *workflow.ChildWorkflowFuture) error {
	info := workflow.GetInfo(ctx)
	for run := 0; run < in.WindowsPerRun; run++ {
		if in.MaxWindows > 0 && in.Window >= in.MaxWindows {
			return nil
		}
		if run > 0 && info.GetContinueAsNewSuggested() {
			return nil
		}
		id := fmt.Sprintf("%s-w%06d", info.WorkflowExecution.ID, in.Window)
		prog.Window, prog.CurrentID = in.Window, id
		settings := in.WindowSettings()
		cctx := windowOptions(ctx, id)

		var res contract.CaptureResult
		*current = workflow.ExecuteChildWorkflow(cctx, CaptureWorkflow, contract.CaptureInput{
			StreamID: in.StreamID, Settings: settings,
		})
		err := (*current).Get(ctx, &res)
		*current = nil
		in.Window++
		failed, fatal := windowEnded(ctx, in, prog, id, res, err)
		if fatal != nil {
			return fatal
		}
		if failed {
			// Back off before the next window so a dead source is not hammered.
			window := time.Duration(settings.DurationSeconds * float64(time.Second))
			if err := workflow.Sleep(ctx, min(window, time.Minute)); err != nil {
				return err
			}
		}
	}
	return nil
}

// windowEnded records a window's outcome in the stream's progress. It
// reports whether the window failed (one an earlier run already captured
// did not), and the error that ends the stream: a cancel, or
// MaxConsecutiveFailures failures in a row.
func windowEnded(ctx workflow.Context, in *contract.StreamInput, prog *contract.StreamProgress, id string,
	res contract.CaptureResult, err error) (failed bool, fatal error) {
	prog.WindowsDone++
	if err == nil {
		in.Failures, prog.Failures = 0, 0
		prog.FramesInRun += res.Frames
		prog.DetectionsRun += res.Detections
		prog.FramesSkippedRun += res.FramesSkipped
		return false, nil
	}
	if temporal.IsCanceledError(err) || ctx.Err() != nil {
		return true, err
	}
	var already *temporal.ChildWorkflowExecutionAlreadyStartedError
	if errors.As(err, &already) {
		return false, nil // this window was captured by an earlier run
	}
	in.Failures++
	prog.Failures, prog.LastError = in.Failures, err.Error()
	workflow.GetLogger(ctx).Warn("capture window failed", "window", id, "failures", in.Failures, "error", err)
	if in.Failures >= MaxConsecutiveFailures {
		return true, fmt.Errorf("stream %s: %d windows in a row failed, last: %w", in.StreamID, in.Failures, err)
	}
	return true, nil
}

// overlappingWindows runs the windows of one run, starting each as soon as
// the one before has stopped capturing (its WindowCapturedSignal) rather
// than when it ends: its detection, tracking and rollup finish while the
// next window captures, so the stream is watched with only the source's
// reopening between windows. A window that fails before it stops
// capturing fails like a sequential one (and the next waits a pause); one
// that fails afterwards counts as a failure when it ends. Every window has
// ended when it returns.
func overlappingWindows(ctx workflow.Context, in *contract.StreamInput, prog *contract.StreamProgress, current *workflow.ChildWorkflowFuture) error {
	info := workflow.GetInfo(ctx)
	captured := workflow.GetSignalChannel(ctx, contract.WindowCapturedSignal)
	sel := workflow.NewSelector(ctx)
	tails := 0      // windows still detecting after they stopped capturing
	var fatal error // MaxConsecutiveFailures reached, or canceled
	var capturedID string
	sel.AddReceive(captured, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, &capturedID)
	})
	// ended records a window's outcome; it reports whether it failed.
	ended := func(id string, res contract.CaptureResult, err error) bool {
		failed, stop := windowEnded(ctx, in, prog, id, res, err)
		if stop != nil {
			fatal = stop
		}
		return failed
	}
	for run := 0; run < in.WindowsPerRun && fatal == nil; run++ {
		if in.MaxWindows > 0 && in.Window >= in.MaxWindows || run > 0 && info.GetContinueAsNewSuggested() {
			break
		}
		id := fmt.Sprintf("%s-w%06d", info.WorkflowExecution.ID, in.Window)
		prog.Window, prog.CurrentID = in.Window, id
		settings := in.WindowSettings()
		if in.Window == 0 && in.MaxWindows != 1 &&
			workflow.GetVersion(ctx, "stagger-first-window", workflow.DefaultVersion, 1) >= 1 {
			settings.DurationSeconds = staggered(info.WorkflowExecution.ID, settings.DurationSeconds)
		}
		// After a window that captured, the source is known to answer: a
		// slow reopening is an outage recorded as a gap, not a failure.
		f := workflow.ExecuteChildWorkflow(windowOptions(ctx, id), CaptureWorkflow, contract.CaptureInput{
			StreamID: in.StreamID, Settings: settings, KnownLive: prog.FramesInRun > 0 || tails > 0,
		})
		*current = f
		in.Window++
		done, failed, tail := false, false, false
		sel.AddFuture(f, func(f workflow.Future) {
			var res contract.CaptureResult
			err := f.Get(ctx, &res)
			if tail {
				tails--
				ended(id, res, err)
				return
			}
			done, failed = true, ended(id, res, err)
			*current = nil
		})
		for !done && capturedID != id && fatal == nil {
			sel.Select(ctx)
		}
		if fatal != nil {
			break
		}
		if !done { // it stopped capturing: the next window starts now
			tail = true
			tails++
			*current = nil
			continue
		}
		if failed {
			// Back off before the next window so a dead source is not
			// hammered, from 5 s (a source slow to answer many opens at
			// once is tried again soon) doubling to the window or a minute.
			window := time.Duration(settings.DurationSeconds * float64(time.Second))
			wait := 5 * time.Second << min(max(in.Failures-1, 0), 4)
			if err := workflow.Sleep(ctx, min(wait, window, time.Minute)); err != nil {
				return err
			}
		}
	}
	for tails > 0 && fatal == nil {
		sel.Select(ctx)
	}
	return fatal
}
