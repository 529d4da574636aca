package testenv

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	enums "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"
)

// Replay checks that the current code of workflows replays the real history
// of the run id. With SIGHTLINE_UPDATE_HISTORY set it also writes that
// history to workflows/testdata/fixture, the file a replay test reads.
func Replay(t testing.TB, c client.Client, id, fixture string, workflows ...any) {
	t.Helper()
	iter := c.GetWorkflowHistory(context.Background(), id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatalf("fetch history of %s: %v", id, err)
		}
		hist.Events = append(hist.Events, ev)
	}
	r := worker.NewWorkflowReplayer()
	for _, w := range workflows {
		r.RegisterWorkflow(w)
	}
	quiet := tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	// The run's own id: workflows that derive child ids from it replay only under it.
	opts := worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: id}}
	if err := r.ReplayWorkflowHistoryWithOptions(quiet, hist, opts); err != nil {
		t.Fatalf("replay %s (%d events): %v", id, len(hist.Events), err)
	}
	if os.Getenv("SIGHTLINE_UPDATE_HISTORY") == "" {
		return
	}
	data, err := protojson.MarshalOptions{Indent: " "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(RepoRoot(t), "workflows", "testdata", fixture)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d events)", p, len(hist.Events))
}
