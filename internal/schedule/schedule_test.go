package schedule

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/testenv"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		spec  Spec
		field string // "" means valid
		msg   string
	}{
		{"every", Spec{StreamID: "lobby", Every: "1h"}, "", ""},
		{"cron", Spec{StreamID: "lobby", Cron: "*/15 9-17 * JAN-MAR mon-fri"}, "", ""},
		{"cron list and step", Spec{StreamID: "lobby", Cron: "0,30 */2 1-15/2 * 0,7"}, "", ""},
		{"shorthand", Spec{StreamID: "lobby", Cron: "@daily"}, "", ""},
		{"no stream", Spec{Every: "1h"}, "stream_id", "is required"},
		{"bad stream", Spec{StreamID: "The Lobby", Every: "1h"}, "stream_id", "not a stream id"},
		{"bad id", Spec{ID: "a/b", StreamID: "lobby", Every: "1h"}, "id", `"a/b" is not a valid id`},
		{"neither", Spec{StreamID: "lobby"}, "every", "set either every"},
		{"both", Spec{StreamID: "lobby", Every: "1h", Cron: "0 * * * *"}, "cron", "not both"},
		{"every not a duration", Spec{StreamID: "lobby", Every: "hourly"}, "every", `"hourly" is not a duration`},
		{"every too short", Spec{StreamID: "lobby", Every: "5s"}, "every", "5s is shorter than the minimum of 10s"},
		{"offset with cron", Spec{StreamID: "lobby", Cron: "0 * * * *", Offset: "1m"}, "offset", "only with every"},
		{"offset too big", Spec{StreamID: "lobby", Every: "1h", Offset: "1h"}, "offset", "less than every (1h)"},
		{"offset negative", Spec{StreamID: "lobby", Every: "1h", Offset: "-1m"}, "offset", "at least 0"},
		{"cron 4 fields", Spec{StreamID: "lobby", Cron: "0 * * *"}, "cron", "has 4 fields; want 5"},
		{"cron 6 fields", Spec{StreamID: "lobby", Cron: "0 0 * * * *"}, "cron", "has 6 fields"},
		{"cron minute range", Spec{StreamID: "lobby", Cron: "61 * * * *"}, "cron", `minute "61": "61" is not a value from 0 to 59`},
		{"cron garbage", Spec{StreamID: "lobby", Cron: "a b c d e"}, "cron", `minute "a"`},
		{"cron bad month", Spec{StreamID: "lobby", Cron: "0 0 1 FOO *"}, "cron", `month "FOO"`},
		{"cron backwards", Spec{StreamID: "lobby", Cron: "0 17-9 * * *"}, "cron", "runs backwards"},
		{"cron zero step", Spec{StreamID: "lobby", Cron: "*/0 * * * *"}, "cron", `step "0"`},
		{"cron @every", Spec{StreamID: "lobby", Cron: "@every 1h"}, "cron", "unknown shorthand"},
		{"negative capture", Spec{StreamID: "lobby", Every: "1h", Capture: contract.Settings{MaxFrames: -1}},
			"capture.max_frames", "must not be negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.spec.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", c.spec, err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate(%+v) = %v, want a FieldError matching ErrInvalid", c.spec, err)
			}
			if fe.Field != c.field || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("Validate(%+v) = %q (field %q), want field %q and %q", c.spec, err, fe.Field, c.field, c.msg)
			}
		})
	}
}

func TestValidateDefaults(t *testing.T) {
	t.Parallel()
	s := Spec{StreamID: " lobby ", Every: "60m", Offset: "90s", Note: "  hi "}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	want := Spec{ID: "capture-lobby", StreamID: "lobby", Every: "1h", Offset: "1m30s", Note: "hi",
		Capture: contract.Settings{ChunkFrames: contract.DefaultChunkFrames, DetectConcurrency: contract.DefaultDetectConcurrency}}
	if s != want {
		t.Errorf("validated spec = %+v, want %+v", s, want)
	}
}

func TestCronRendering(t *testing.T) {
	t.Parallel()
	r := func(start, end, step int) client.ScheduleRange {
		return client.ScheduleRange{Start: start, End: end, Step: step}
	}
	cal := client.ScheduleCalendarSpec{
		Minute:     []client.ScheduleRange{r(0, 59, 15)},
		Hour:       []client.ScheduleRange{r(9, 17, 1)},
		DayOfMonth: []client.ScheduleRange{r(1, 31, 1)},
		Month:      []client.ScheduleRange{r(1, 0, 1), r(6, 6, 1)},
		DayOfWeek:  []client.ScheduleRange{r(5, 6, 2)},
	}
	if got, want := cronOf(cal), "*/15 9-17 * 1,6 5-6/2"; got != want {
		t.Errorf("cronOf = %q, want %q", got, want)
	}
}

// fixture is a Temporal client with a task queue of its own; no worker
// polls it unless the test starts one.
type fixture struct {
	t      *testing.T
	c      client.Client
	queues Queues
}

func newFixture(t *testing.T) *fixture {
	q := testenv.Name("sched-q")
	return &fixture{t: t, c: testenv.Temporal(t), queues: Queues{Main: q, Detect: q + "-detect"}}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// create creates the schedule and deletes it, and terminates whatever it
// started, when the test ends.
func (f *fixture) create(spec Spec) Spec {
	f.t.Helper()
	got, err := Create(ctxFor(f.t), f.c, f.queues, spec)
	if err != nil {
		f.t.Fatalf("Create(%+v): %v", spec, err)
	}
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if d, err := Describe(ctx, f.c, got.ID); err == nil {
			for _, a := range d.RecentActions {
				_ = f.c.TerminateWorkflow(ctx, a.WorkflowID, "", "schedule test finished")
			}
		}
		if err := Delete(ctx, f.c, got.ID); err != nil && !errors.Is(err, ErrNotFound) {
			f.t.Errorf("cleanup: %v", err)
		}
	})
	return got
}

func (f *fixture) describe(id string) *Schedule {
	f.t.Helper()
	d, err := Describe(ctxFor(f.t), f.c, id)
	if err != nil {
		f.t.Fatalf("Describe(%s): %v", id, err)
	}
	return d
}

// waitFor polls Describe until ok holds or 15 s pass: Temporal applies
// patches (trigger, pause) asynchronously.
func (f *fixture) waitFor(id, what string, ok func(*Schedule) bool) *Schedule {
	f.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d := f.describe(id)
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("schedule %s: gave up waiting for %s; last description %+v", id, what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := ctxFor(t)
	stream := testenv.Name("cam")
	spec := f.create(Spec{StreamID: stream, Every: "1h", Offset: "15m", Paused: true, Note: "set up by a test",
		Capture: contract.Settings{EveryMS: 500, DurationSeconds: 300, MaxFrames: 1000, SkipRollup: true}})
	if spec.ID != "capture-"+stream {
		t.Errorf("default id = %q, want capture-%s", spec.ID, stream)
	}

	d := f.describe(spec.ID)
	if d.Spec != spec {
		t.Errorf("described spec = %+v, want %+v", d.Spec, spec)
	}
	if d.TaskQueue != f.queues.Main || d.DetectTaskQueue != f.queues.Detect || d.WorkflowIDPrefix != "capture-"+stream+"-sched" {
		t.Errorf("task queues %q, %q and prefix %q", d.TaskQueue, d.DetectTaskQueue, d.WorkflowIDPrefix)
	}
	if d.Overlap != "SKIP" || d.CatchupWindow != "5m" {
		t.Errorf("overlap %q, catch-up window %q; want SKIP, 5m", d.Overlap, d.CatchupWindow)
	}
	if len(d.NextActionTimes) != nextShown {
		t.Fatalf("%d next action times, want %d", len(d.NextActionTimes), nextShown)
	}
	for i, nt := range d.NextActionTimes {
		if nt.Minute() != 15 || nt.Second() != 0 || (i > 0 && nt.Sub(d.NextActionTimes[i-1]) != time.Hour) {
			t.Errorf("next action times %v are not hourly at xx:15", d.NextActionTimes)
			break
		}
	}
	if d.CreatedAt.IsZero() || len(d.RecentActions) != 0 || len(d.RunningWorkflows) != 0 {
		t.Errorf("fresh schedule: created %v, recent %v, running %v", d.CreatedAt, d.RecentActions, d.RunningWorkflows)
	}

	// Listed, with the stream from the memo (the list is eventually consistent).
	deadline := time.Now().Add(15 * time.Second)
	for {
		list, err := List(ctx, f.c)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var found *Summary
		for i := range list {
			if list[i].ID == spec.ID {
				found = &list[i]
			}
		}
		if found != nil {
			want := Summary{ID: spec.ID, StreamID: stream, Every: spec.Every, Offset: spec.Offset, Paused: true, Note: spec.Note}
			found.NextActionTime = nil
			if *found != want {
				t.Errorf("listed %+v, want %+v", *found, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %s not listed after 15 s", spec.ID)
		}
		time.Sleep(200 * time.Millisecond)
	}

	if err := Unpause(ctx, f.c, spec.ID, "back on"); err != nil {
		t.Fatal(err)
	}
	if d := f.describe(spec.ID); d.Spec.Paused || d.Spec.Note != "back on" {
		t.Errorf("after Unpause: paused %v note %q", d.Spec.Paused, d.Spec.Note)
	}
	if err := Pause(ctx, f.c, spec.ID, "maintenance"); err != nil {
		t.Fatal(err)
	}
	if d := f.describe(spec.ID); !d.Spec.Paused || d.Spec.Note != "maintenance" {
		t.Errorf("after Pause: paused %v note %q", d.Spec.Paused, d.Spec.Note)
	}

	// Trigger starts a capture even while paused; no worker polls the queue,
	// so it stays running, and a second trigger is skipped (overlap SKIP).
	if err := Trigger(ctx, f.c, spec.ID); err != nil {
		t.Fatal(err)
	}
	d = f.waitFor(spec.ID, "the triggered capture", func(d *Schedule) bool { return len(d.RunningWorkflows) == 1 })
	a := d.RecentActions[0]
	// The schedule is deleted below, so its cleanup cannot find this run.
	t.Cleanup(func() { _ = f.c.TerminateWorkflow(context.Background(), a.WorkflowID, "", "schedule test finished") })
	if !strings.HasPrefix(a.WorkflowID, "capture-"+stream+"-sched-") || a.CaptureID != a.WorkflowID || a.RunID == "" ||
		a.StartedAt.IsZero() || d.RunningWorkflows[0] != a.WorkflowID || d.ActionsTaken != 1 {
		t.Errorf("after Trigger: recent %+v, running %v, taken %d", d.RecentActions, d.RunningWorkflows, d.ActionsTaken)
	}
	desc, err := f.c.DescribeWorkflowExecution(ctx, a.WorkflowID, a.RunID)
	if err != nil {
		t.Fatalf("describe triggered workflow: %v", err)
	}
	if info := desc.GetWorkflowExecutionInfo(); info.GetType().GetName() != "CaptureWorkflow" || info.GetTaskQueue() != f.queues.Main {
		t.Errorf("triggered workflow type %q on %q", info.GetType().GetName(), info.GetTaskQueue())
	}
	if err := Trigger(ctx, f.c, spec.ID); err != nil {
		t.Fatal(err)
	}
	d = f.waitFor(spec.ID, "the second trigger to be skipped", func(d *Schedule) bool { return d.SkippedOverlap == 1 })
	if d.ActionsTaken != 1 || len(d.RunningWorkflows) != 1 {
		t.Errorf("after a trigger during a capture: taken %d running %v, want 1 and the first", d.ActionsTaken, d.RunningWorkflows)
	}

	// Update the timing to a cron calendar; the capture and state stay.
	if _, err := Update(ctx, f.c, spec.ID, Timing{Cron: "*/15 9-17 * * MON-FRI"}); err != nil {
		t.Fatal(err)
	}
	d = f.describe(spec.ID)
	if d.Spec.Cron != "*/15 9-17 * * 1-5" || d.Spec.Every != "" || d.Spec.Capture != spec.Capture || !d.Spec.Paused {
		t.Errorf("after Update: %+v", d.Spec)
	}
	if _, err := Update(ctx, f.c, spec.ID, Timing{Every: "1s"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Update to 1s = %v, want ErrInvalid", err)
	}

	if err := Delete(ctx, f.c, spec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := Describe(ctx, f.c, spec.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Describe after Delete = %v, want ErrNotFound", err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := ctxFor(t)
	spec := f.create(Spec{ID: testenv.Name("dup"), StreamID: "lobby", Cron: "0 3 * * *", Paused: true})
	_, err := Create(ctx, f.c, f.queues, Spec{ID: spec.ID, StreamID: "dock", Every: "1h"})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), spec.ID) {
		t.Errorf("duplicate Create = %v, want ErrExists naming %s", err, spec.ID)
	}
	if _, err := Create(ctx, f.c, f.queues, Spec{StreamID: "lobby", Every: "1s"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Create with every 1s = %v, want ErrInvalid", err)
	}

	missing := testenv.Name("missing")
	if _, err := Describe(ctx, f.c, missing); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Describe(missing) = %v, want ErrNotFound naming the id", err)
	}
	for name, op := range map[string]func() error{
		"Pause":   func() error { return Pause(ctx, f.c, missing, "") },
		"Unpause": func() error { return Unpause(ctx, f.c, missing, "") },
		"Trigger": func() error { return Trigger(ctx, f.c, missing) },
		"Delete":  func() error { return Delete(ctx, f.c, missing) },
		"Update":  func() error { _, err := Update(ctx, f.c, missing, Timing{Every: "1h"}); return err },
	} {
		if err := op(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s(missing) = %v, want ErrNotFound", name, err)
		}
	}
}

// started is one run of the stub CaptureWorkflow.
type started struct {
	id        string
	in        contract.CaptureInput
	startTime time.Time // the workflow's start time on the server
	ranAt     time.Time // when the worker ran its first task
}

// TestScheduleStartsCaptures runs a 10 s schedule against a stub
// CaptureWorkflow and checks the runs start on time with the right input.
func TestScheduleStartsCaptures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var (
		mu   sync.Mutex
		runs = map[string]started{}
	)
	stub := func(ctx workflow.Context, in contract.CaptureInput) (contract.CaptureResult, error) {
		info := workflow.GetInfo(ctx)
		if !workflow.IsReplaying(ctx) {
			mu.Lock()
			if _, seen := runs[info.WorkflowExecution.ID]; !seen {
				runs[info.WorkflowExecution.ID] = started{id: info.WorkflowExecution.ID, in: in,
					startTime: info.WorkflowStartTime, ranAt: time.Now()}
			}
			mu.Unlock()
		}
		return contract.CaptureResult{CaptureID: info.WorkflowExecution.ID}, nil
	}
	w := worker.New(f.c, f.queues.Main, worker.Options{})
	w.RegisterWorkflowWithOptions(stub, workflow.RegisterOptions{Name: "CaptureWorkflow"})
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	defer w.Stop()

	stream := testenv.Name("cam")
	created := time.Now()
	spec := f.create(Spec{StreamID: stream, Every: "10s",
		Capture: contract.Settings{EveryMS: 250, MaxFrames: 20, DurationSeconds: 5}})

	// The first start is at the next multiple of 10 s, the second 10 s later.
	deadline := created.Add(25 * time.Second)
	var got []started
	for {
		mu.Lock()
		got = got[:0]
		for _, r := range runs {
			got = append(got, r)
		}
		mu.Unlock()
		if len(got) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d CaptureWorkflow runs within 25 s of creating an every-10s schedule, want at least 2", len(got))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("2 runs started %.1f s after the schedule was created", time.Since(created).Seconds())
	if err := Pause(context.Background(), f.c, spec.ID, "test done"); err != nil {
		t.Fatal(err)
	}

	// Ids end in the scheduled time, so they sort in time order.
	sort.Slice(got, func(i, j int) bool { return got[i].id < got[j].id })
	prefix := "capture-" + stream + "-sched-"
	want := contract.CaptureInput{StreamID: stream, Settings: contract.Settings{EveryMS: 250, MaxFrames: 20, DurationSeconds: 5, ChunkFrames: contract.DefaultChunkFrames, DetectConcurrency: contract.DefaultDetectConcurrency, DetectTaskQueue: f.queues.Detect}}
	var scheduled []time.Time
	for _, r := range got {
		if r.in != want {
			t.Errorf("run %s input = %+v, want %+v", r.id, r.in, want)
		}
		// Temporal names each run after its scheduled time.
		at, err := time.Parse(time.RFC3339, strings.TrimPrefix(r.id, prefix))
		if !strings.HasPrefix(r.id, prefix) || err != nil {
			t.Fatalf("run id %q is not %s<RFC 3339 time> (%v)", r.id, prefix, err)
		}
		if at.Unix()%10 != 0 {
			t.Errorf("run %s scheduled at %v, not on a multiple of 10 s", r.id, at)
		}
		startLag, runLag := r.startTime.Sub(at), r.ranAt.Sub(at)
		t.Logf("run %s: workflow started %v after its scheduled time, ran on the worker %v after it", r.id,
			startLag.Round(time.Millisecond), runLag.Round(time.Millisecond))
		if startLag < 0 || startLag > 2*time.Second || runLag > 3*time.Second {
			t.Errorf("run %s started %v / ran %v after its scheduled time %v, want within 2 s / 3 s", r.id, startLag, runLag, at)
		}
		scheduled = append(scheduled, at)
	}
	for i := 1; i < len(scheduled); i++ {
		if gap := scheduled[i].Sub(scheduled[i-1]); gap != 10*time.Second {
			t.Errorf("runs scheduled at %v: %v apart, want 10 s", scheduled, gap)
		}
	}

	d := f.describe(spec.ID)
	if d.ActionsTaken < 2 || len(d.RecentActions) < 2 {
		t.Errorf("description after 2 runs: taken %d, recent %+v", d.ActionsTaken, d.RecentActions)
	}
}

func TestWorkflowIDPrefixKeepsSchedulesApart(t *testing.T) {
	if got := WorkflowIDPrefix("lobby", DefaultID("lobby")); got != "capture-lobby-sched" {
		t.Errorf("default schedule prefix %q", got)
	}
	if a, b := WorkflowIDPrefix("lobby", "morning"), WorkflowIDPrefix("lobby", "evening"); a == b || a == WorkflowIDPrefix("lobby", "") {
		t.Errorf("two schedules of one stream share a prefix: %q, %q", a, b)
	}
}
