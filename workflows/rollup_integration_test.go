package workflows_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/sightline-video/sightline/activities"
	dbtlike "github.com/sightline-video/sightline/dbt_like"
	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/testenv"
	"github.com/sightline-video/sightline/worker"
	"github.com/sightline-video/sightline/workflows"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestRollupWorkflowOnTemporal runs RollupWorkflow on the real Temporal
// server and PostgreSQL: every model is built and tested, a second run
// merges incrementally, and the history replays (and is recorded for
// TestReplayRollupHistory with SIGHTLINE_UPDATE_HISTORY=1).
func TestRollupWorkflowOnTemporal(t *testing.T) {
	pool, _ := testenv.DB(t)
	tc := testenv.Temporal(t)
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO streams (id, name, source) VALUES ('lobby', 'Lobby', 'x'), ('dock', 'Dock', 'x')`,
		`INSERT INTO captures (id, stream_id, source, chunk_frames, started_at) VALUES
			('c1', 'lobby', 'x', 10, '2024-05-01 12:00:00+00'), ('c2', 'dock', 'x', 10, '2024-05-01 12:00:00+00')`,
		`INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms) VALUES
			('c1', 0, 'lobby', 'k', 0, 10, 0, 1), ('c2', 0, 'dock', 'k', 0, 10, 0, 1)`,
		// lobby: 4 frames, people 3, 1, 0, 2; dock: 2 frames, a truck in one.
		`INSERT INTO frames (capture_id, frame_index, stream_id, chunk_seq, pts_ms, ts, width, height, detection_count, model)
			SELECT c, i, s, 0, i * 1000, '2024-05-01 12:00:00+00'::timestamptz + i * interval '10 seconds', 640, 480, 0, 'm'
			FROM (VALUES ('c1', 'lobby', 4), ('c2', 'dock', 2)) v(c, s, n), generate_series(0, n - 1) i`,
		`INSERT INTO detections (capture_id, frame_index, det_index, stream_id, ts, class_id, class_name, score, x1, y1, x2, y2)
			SELECT f.capture_id, f.frame_index, d, f.stream_id, f.ts, 0, v.cls, 0.9, 0, 0, 1, 1
			FROM frames f JOIN (VALUES ('c1', 0, 3, 'person'), ('c1', 1, 1, 'person'), ('c1', 3, 2, 'person'), ('c2', 1, 1, 'truck'))
			v(c, i, n, cls) ON f.capture_id = v.c AND f.frame_index = v.i, generate_series(0, v.n - 1) d`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("fixture: %v", err)
		}
	}
	project, err := dbtlike.DefaultProject()
	if err != nil {
		t.Fatal(err)
	}
	queue := testenv.Name("rollup")
	w := sdkworker.New(tc, queue, sdkworker.Options{})
	worker.RegisterMain(w, &activities.Activities{DB: pool, Rollup: project, Log: quiet})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	run := func(id string, in contract.RollupInput) workflows.RollupResult {
		t.Helper()
		wr, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.RollupWorkflow, in)
		if err != nil {
			t.Fatal(err)
		}
		gctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		var res workflows.RollupResult
		if err := wr.Get(gctx, &res); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return res
	}
	first := testenv.Name("rollup-first")
	res := run(first, contract.RollupInput{})
	if len(res.Models) != len(project.Order()) || len(res.Tests) != len(project.Tests()) || res.Warnings != 0 {
		t.Errorf("first run: %d models, %d tests, %d warnings; want %d, %d, 0", len(res.Models), len(res.Tests),
			res.Warnings, len(project.Order()), len(project.Tests()))
	}
	var events int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = 'rollup.finished'
		AND data->>'tests' = $1`, strconv.Itoa(len(res.Tests))).Scan(&events); err != nil || events != 1 {
		t.Errorf("rollup.finished events: %d (%v), want 1", events, err)
	}
	var top string
	var avg float64
	if err := pool.QueryRow(ctx, `SELECT object, avg_per_frame FROM analytics.object_stream_ranking
		WHERE stream_id = 'lobby' AND rank = 1`).Scan(&top, &avg); err != nil || top != "person" || avg != 1.5 {
		t.Errorf("lobby's top object %q %v (%v), want person at 6/4 = 1.5 per frame", top, avg, err)
	}

	res = run(testenv.Name("rollup-again"), contract.RollupInput{Select: []string{"object_counts+"}, SkipTests: true})
	var modes []string
	for _, m := range res.Models {
		if m.Name == "object_counts" {
			modes = append(modes, m.Mode)
		}
	}
	if len(res.Models) != 8 || len(res.Tests) != 0 || strings.Join(modes, ",") != dbtlike.ModeIncremental {
		t.Errorf("object_counts+ without tests: %+v", res)
	}

	// The history replays, and refreshes the one the replay test reads.
	testenv.Replay(t, tc, first, "rollup_history.json", workflows.RollupWorkflow)
}
