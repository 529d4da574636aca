package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sightline-video/sightline/internal/schedule"
	"github.com/sightline-video/sightline/internal/testenv"
)

func TestScheduleCLI(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config()
	cfg.TaskQueue, cfg.DetectTaskQueue = testenv.Name("main"), testenv.Name("detect")
	tc := testenv.Temporal(t)
	ctx := context.Background()
	stream := testenv.Name("cam")
	id := "capture-" + stream
	t.Cleanup(func() { _ = schedule.Delete(context.Background(), tc, id) })

	sched := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := runSchedule(ctx, cfg, args, &out)
		return out.String(), err
	}

	out, err := sched("create", "--stream", stream, "--every", "1h", "--duration", "5m", "--every-ms", "500",
		"--max-frames", "100", "--paused", "--note", "night shift")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	for _, want := range []string{"schedule " + id + " created", "stream:", stream, "every 1h", "duration_seconds=300",
		"every_ms=500", "max_frames=100", "paused:", "yes", "night shift", "task queue:", cfg.TaskQueue,
		"overlap SKIP, catch-up window 5m", "next if unpaused:"} {
		if !strings.Contains(out, want) {
			t.Errorf("create output lacks %q:\n%s", want, out)
		}
	}
	d, err := schedule.Describe(ctx, tc, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Capture.DurationSeconds != 300 || d.Spec.Capture.EveryMS != 500 || d.Spec.Capture.MaxFrames != 100 ||
		!d.Spec.Paused || d.TaskQueue != cfg.TaskQueue || d.DetectTaskQueue != cfg.DetectTaskQueue {
		t.Errorf("created schedule = %+v", d)
	}

	// The list is eventually consistent: wait for the row.
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err = sched("list")
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if strings.Contains(out, id) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("list does not show %s after 15 s:\n%s", id, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "STREAM") {
		t.Errorf("list has no header:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, id+" ") {
			if f := strings.Fields(line); len(f) < 6 || f[1] != stream || f[2] != "every" || f[3] != "1h" || f[4] != "yes" {
				t.Errorf("list row %q, want id, stream, every 1h, paused yes", line)
			}
		}
	}

	// Flags after the id work too.
	if out, err := sched("unpause", id, "--note", "back"); err != nil || !strings.Contains(out, "unpaused") {
		t.Errorf("unpause: %v %s", err, out)
	}
	if out, err := sched("describe", id); err != nil || !strings.Contains(out, "paused:") || !strings.Contains(out, "back") {
		t.Errorf("describe after unpause: %v\n%s", err, out)
	}
	if _, err := sched("create", "--stream", stream, "--every", "2h"); !errors.Is(err, schedule.ErrExists) {
		t.Errorf("duplicate create = %v, want ErrExists", err)
	}

	if out, err := sched("delete", id); err != nil || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %v %s", err, out)
	}
	if _, err := sched("describe", id); !errors.Is(err, schedule.ErrNotFound) {
		t.Errorf("describe after delete = %v, want ErrNotFound", err)
	}
}

func TestScheduleCLIBadInput(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config()
	cases := []struct {
		args []string
		want string
	}{
		{nil, "missing command"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"create", "--every", "1h"}, "stream_id: is required"},
		{[]string{"create", "--stream", "lobby"}, "set either every"},
		{[]string{"create", "--stream", "lobby", "--every", "1h", "--cron", "0 * * * *"}, "not both"},
		{[]string{"create", "--stream", "lobby", "--every", "1s"}, "shorter than the minimum of 10s"},
		{[]string{"create", "--stream", "lobby", "--cron", "0 * *"}, "has 3 fields; want 5"},
		{[]string{"create", "--stream", "lobby", "--every", "1h", "--duration", "-1m"}, "--duration -1m0s: must not be negative"},
		{[]string{"create", "--stream", "lobby", "--every", "1h", "extra"}, `unexpected argument "extra"`},
		{[]string{"describe"}, "want exactly one schedule id"},
		{[]string{"pause", "a", "b"}, "got 2 arguments"},
		{[]string{"update", "x", "--every", "5s"}, "shorter than the minimum"},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := runSchedule(context.Background(), cfg, c.args, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("schedule %q: error %v, want one containing %q", c.args, err, c.want)
		}
	}
	var out bytes.Buffer
	if err := runSchedule(context.Background(), cfg, []string{"help"}, &out); err != nil || !strings.Contains(out.String(), "usage: sightline schedule") {
		t.Errorf("help: %v %q", err, out.String())
	}
}
