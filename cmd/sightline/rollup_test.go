package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	dbtlike "github.com/sightline-video/sightline/dbt_like"
	"github.com/sightline-video/sightline/internal/testenv"
)

func rollupCLI(t *testing.T, dsn string, args ...string) (string, error) {
	t.Helper()
	cfg := testenv.Config()
	if dsn != "" {
		cfg.PostgresDSN = dsn
	}
	cfg.TaskQueue = testenv.Name("rollup-cli")
	var out bytes.Buffer
	err := runRollup(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), args, &out)
	return out.String(), err
}

func TestRollupCLIList(t *testing.T) {
	out, err := rollupCLI(t, "", "--list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"frame_object_counts  [incremental] key(stream_id, ts, capture_id, frame_index, class_name) partition(stream_id, ts, capture_id, frame_index) lookback 1m0s\n  <- source:detections, source:frames\n",
		"object_counts  [incremental] key(stream_id, object, bucket) partition(stream_id, bucket)",
		"  <- frame_object_counts, stream_buckets, source:frames\n  test object_counts: expression",
		"  test counts_add_up\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--list lacks %q:\n%s", want, out)
		}
	}
	out, err = rollupCLI(t, "", "--list", "--select", "object_ranking+", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var plan dbtlike.Plan
	if err := json.Unmarshal([]byte(out), &plan); err != nil || len(plan.Models) != 1 || plan.Models[0].Name != "object_ranking" {
		t.Errorf("--list --json: %v %+v", err, plan)
	}
}

func TestRollupCLIRun(t *testing.T) {
	_, dsn := testenv.DB(t)
	out, err := rollupCLI(t, dsn)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "object_counts            incremental full") || !strings.Contains(out, "15 models built, 48 of 48 tests passed") {
		t.Errorf("output:\n%s", out)
	}
	out, err = rollupCLI(t, dsn, "--select", "object_counts+", "--skip-tests", "--var", "min_score=0.5")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "object_counts            incremental incremental") || !strings.Contains(out, "8 models built, 0 of 0 tests passed") {
		t.Errorf("output:\n%s", out)
	}
	out, err = rollupCLI(t, dsn, "--full-refresh", "--json")
	var res dbtlike.RunResult
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Models[0].Mode != dbtlike.ModeFull {
		t.Errorf("--full-refresh --json: %v\n%s", err, out)
	}
}

func TestRollupCLIBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--select", "ghost"}, "unknown model ghost"},
		{[]string{"--var", "nope"}, "want name=value"},
		{[]string{"--models", "/does/not/exist"}, "not a readable folder"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--schedule", "5m", "--var", "a=1"}, "--var applies to in-process runs only"},
		{[]string{"--schedule", "1s"}, "shorter than the minimum"},
		{[]string{"--unschedule", "--schedule", "5m"}, "takes no --schedule"},
	} {
		if _, err := rollupCLI(t, "", tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestRollupCLISchedule(t *testing.T) {
	id := testenv.Name("rollup")
	out, err := rollupCLI(t, "", "--schedule", "15m", "--schedule-id", id, "--select", "object_counts+")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "rollup schedule "+id+": RollupWorkflow every 15m") {
		t.Errorf("output: %s", out)
	}
	if out, err = rollupCLI(t, "", "--schedule-cron", "0 * * * *", "--schedule-id", id); err != nil || !strings.Contains(out, "cron 0 * * * *") {
		t.Errorf("update: %v %s", err, out)
	}
	if out, err = rollupCLI(t, "", "--unschedule", "--schedule-id", id); err != nil || !strings.Contains(out, "deleted rollup schedule "+id) {
		t.Errorf("unschedule: %v %s", err, out)
	}
	if _, err = rollupCLI(t, "", "--unschedule", "--schedule-id", id); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unschedule twice: %v", err)
	}
}
