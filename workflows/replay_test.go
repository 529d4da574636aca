package workflows

import (
	"io"
	"log/slog"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// TestReplayCaptureHistory replays the history of a real CaptureWorkflow run
// (recorded by the e2e test with SIGHTLINE_UPDATE_HISTORY=1). A change to the
// workflow that is not deterministic against runs already in flight fails
// here; such a change needs workflow.GetVersion.
func TestReplayCaptureHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(CaptureWorkflow)
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := r.ReplayWorkflowHistoryFromJSONFile(logger, "testdata/capture_history.json"); err != nil {
		t.Fatalf("replay: %v", err)
	}
}
