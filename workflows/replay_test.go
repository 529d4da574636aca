package workflows

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayCaptureHistory replays the history of a real CaptureWorkflow run
// (recorded by the e2e tests with SIGHTLINE_UPDATE_HISTORY=1), one that was
// canceled mid-capture (it stores, detects, tracks and rolls up what it
// read), both of them also from before captures tracked, and an older one
// that ran the rollup as an activity instead of a child RollupWorkflow.
// A realtime capture of a live stream under overload (it skips chunks,
// some after they waited too long on the detect queue) and a StreamWorkflow
// switched from complete to realtime by an update, with its window (which
// rolls up through the windows' shared rollup), are replayed too.
// A change to the workflow that is not deterministic against runs already
// in flight fails here; such a change needs workflow.GetVersion.
func TestReplayCaptureHistory(t *testing.T) {
	for _, file := range []string{"capture_history.json", "capture_canceled_history.json", "capture_history_before_tracking.json",
		"capture_canceled_history_before_tracking.json", "capture_history_rollup_activity.json",
		"capture_realtime_history.json", "stream_mode_switch_history.json", "capture_window_history.json"} {
		r := worker.NewWorkflowReplayer()
		r.RegisterWorkflow(CaptureWorkflow)
		r.RegisterWorkflow(RollupWorkflow)
		r.RegisterWorkflow(StreamWorkflow)
		logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
		f, err := os.Open("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		// Replay under the run's own id: StreamWorkflow names its windows after it.
		id := hist.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowId()
		if err := r.ReplayWorkflowHistoryWithOptions(logger, hist,
			worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: id}}); err != nil {
			t.Errorf("replay %s: %v", file, err)
		}
	}
}
