package workflows

import (
	"io"
	"log/slog"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// TestReplayCaptureHistory replays the history of a real CaptureWorkflow run
// (recorded by the e2e tests with SIGHTLINE_UPDATE_HISTORY=1), one that was
// canceled mid-capture (it stores, detects, tracks and rolls up what it
// read), both of them also from before captures tracked, and an older one
// that ran the rollup as an activity instead of a child RollupWorkflow.
// A change to the workflow that is not deterministic against runs already
// in flight fails here; such a change needs workflow.GetVersion.
func TestReplayCaptureHistory(t *testing.T) {
	for _, file := range []string{"capture_history.json", "capture_canceled_history.json", "capture_history_before_tracking.json",
		"capture_canceled_history_before_tracking.json", "capture_history_rollup_activity.json"} {
		r := worker.NewWorkflowReplayer()
		r.RegisterWorkflow(CaptureWorkflow)
		r.RegisterWorkflow(RollupWorkflow)
		logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := r.ReplayWorkflowHistoryFromJSONFile(logger, "testdata/"+file); err != nil {
			t.Errorf("replay %s: %v", file, err)
		}
	}
}
