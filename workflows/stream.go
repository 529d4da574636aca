package workflows

import (
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
	info := workflow.GetInfo(ctx)
	prog := contract.StreamProgress{Window: in.Window, Failures: in.Failures}
	if err := workflow.SetQueryHandler(ctx, contract.StreamProgressQuery, func() (contract.StreamProgress, error) { return prog, nil }); err != nil {
		return err
	}
	logger := workflow.GetLogger(ctx)
	settings := in.WindowSettings()
	window := time.Duration(settings.DurationSeconds * float64(time.Second))

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
		var res contract.CaptureResult
		err := workflow.ExecuteChildWorkflow(cctx, CaptureWorkflow, contract.CaptureInput{
			StreamID: in.StreamID, Settings: settings,
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
