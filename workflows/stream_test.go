package workflows

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/detectconf"
)

func TestStreamWorkflowContinuesAsNewAfterItsWindows(t *testing.T) {
	env := newEnv()
	var ids []string
	env.OnWorkflow(CaptureWorkflow, mock.Anything, mock.MatchedBy(func(in contract.CaptureInput) bool {
		return in.StreamID == "lobby" && in.DurationSeconds == 60 && in.EveryMS == 500
	})).Return(func(ctx workflow.Context, in contract.CaptureInput) (contract.CaptureResult, error) {
		ids = append(ids, workflow.GetInfo(ctx).WorkflowExecution.ID)
		return contract.CaptureResult{Frames: 120, Detections: 10}, nil
	})
	env.ExecuteWorkflow(StreamWorkflow, contract.StreamInput{StreamID: "lobby", WindowSeconds: 60, WindowsPerRun: 3, Window: 7, Settings: contract.Settings{EveryMS: 500}})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("error = %v, want continue-as-new", err)
	}
	if len(ids) != 3 || ids[0] != "default-test-workflow-id-w000007" || ids[2] != "default-test-workflow-id-w000009" {
		t.Fatalf("windows %v", ids)
	}
	var next contract.StreamInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Window != 10 || next.StreamID != "lobby" || next.Failures != 0 {
		t.Fatalf("continued with %+v", next)
	}
}

func TestStreamWorkflowStopsAtMaxWindowsAndSurvivesAFailedWindow(t *testing.T) {
	env := newEnv()
	calls := 0
	env.OnWorkflow(CaptureWorkflow, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in contract.CaptureInput) (contract.CaptureResult, error) {
		calls++
		if calls == 2 {
			return contract.CaptureResult{}, errors.New("source unreachable")
		}
		return contract.CaptureResult{Frames: 1}, nil
	})
	env.ExecuteWorkflow(StreamWorkflow, contract.StreamInput{StreamID: "lobby", WindowSeconds: 30, MaxWindows: 4})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("error = %v, want a clean stop after 4 windows", err)
	}
	if calls != 4 {
		t.Fatalf("%d windows captured, want 4", calls)
	}
}

func TestStreamWorkflowGivesUpAfterRepeatedFailures(t *testing.T) {
	env := newEnv()
	calls := 0
	env.OnWorkflow(CaptureWorkflow, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in contract.CaptureInput) (contract.CaptureResult, error) {
		calls++
		return contract.CaptureResult{}, errors.New("source unreachable")
	})
	env.ExecuteWorkflow(StreamWorkflow, contract.StreamInput{StreamID: "lobby", WindowSeconds: 30})
	err := env.GetWorkflowError()
	if err == nil || calls != MaxConsecutiveFailures {
		t.Fatalf("error %v after %d windows, want failure after %d", err, calls, MaxConsecutiveFailures)
	}
}

// Each window gets the stream's settings, detection included, with the
// window's length as its duration.
func TestStreamWorkflowPassesItsSettingsToEachWindow(t *testing.T) {
	env := newEnv()
	set := contract.Settings{EveryMS: 1000, MaxFrames: 10, GPU: true, SkipRollup: true,
		Detect: &detectconf.Config{Model: "picodet_s_416_coco", Filter: &detectconf.Filter{Classes: []string{"car"}}}}
	var got []contract.Settings
	env.OnWorkflow(CaptureWorkflow, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in contract.CaptureInput) (contract.CaptureResult, error) {
		got = append(got, in.Settings)
		return contract.CaptureResult{}, nil
	})
	env.ExecuteWorkflow(StreamWorkflow, contract.StreamInput{StreamID: "lobby", Settings: set, MaxWindows: 2})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	want := set
	want.DurationSeconds = contract.DefaultWindowSeconds
	if len(got) != 2 || !reflect.DeepEqual(got[1], want) {
		t.Fatalf("windows got %+v, want %+v", got, want)
	}
	// The first window is staggered: shorter, otherwise the same.
	first := got[0].DurationSeconds
	if first < want.DurationSeconds/2 || first >= want.DurationSeconds {
		t.Fatalf("first window of %v s, want between half and all of %v s", first, want.DurationSeconds)
	}
	got[0].DurationSeconds = want.DurationSeconds
	if !reflect.DeepEqual(got[0], want) {
		t.Fatalf("first window got %+v, want %+v", got[0], want)
	}
	env = newEnv()
	env.ExecuteWorkflow(StreamWorkflow, contract.StreamInput{StreamID: "lobby", Settings: contract.Settings{ChunkFrames: -1}})
	if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "chunk_frames") {
		t.Fatalf("bad settings: %v", err)
	}
}

// TestStreamWorkflowStartsTheNextWindowWhenOneStopsCapturing: a window
// that stops capturing (WindowCapturedSignal) lets the next one start while
// it finishes detecting; the stream ends only when every window has, and
// later windows are told their source is known to answer.
func TestStreamWorkflowStartsTheNextWindowWhenOneStopsCapturing(t *testing.T) {
	env := newEnv()
	type span struct{ start, end time.Time }
	spans := map[string]*span{}
	var knownLive []bool
	env.OnWorkflow(CaptureWorkflow, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in contract.CaptureInput) (contract.CaptureResult, error) {
		info := workflow.GetInfo(ctx)
		sp := &span{start: workflow.Now(ctx)}
		spans[info.WorkflowExecution.ID] = sp
		knownLive = append(knownLive, in.KnownLive)
		_ = workflow.Sleep(ctx, 60*time.Second) // capturing
		parent := info.ParentWorkflowExecution
		_ = workflow.SignalExternalWorkflow(ctx, parent.ID, parent.RunID, contract.WindowCapturedSignal, info.WorkflowExecution.ID).Get(ctx, nil)
		_ = workflow.Sleep(ctx, 20*time.Second) // detecting, tracking, rolling up
		sp.end = workflow.Now(ctx)
		return contract.CaptureResult{Frames: 60, Detections: 5}, nil
	})
	env.ExecuteWorkflow(StreamWorkflow, contract.StreamInput{StreamID: "lobby", MaxWindows: 3, Settings: contract.Settings{DurationSeconds: 60}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(spans) != 3 {
		t.Fatalf("%d windows ran, want 3", len(spans))
	}
	for w := 0; w < 2; w++ {
		this, next := spans[fmt.Sprintf("default-test-workflow-id-w%06d", w)], spans[fmt.Sprintf("default-test-workflow-id-w%06d", w+1)]
		if got := next.start.Sub(this.start); got != 60*time.Second {
			t.Errorf("window %d started %v after window %d, want 60s: as soon as it stopped capturing", w+1, got, w)
		}
		if !next.start.Before(this.end) {
			t.Errorf("window %d waited for window %d to end", w+1, w)
		}
	}
	if !slices.Equal(knownLive, []bool{false, true, true}) {
		t.Errorf("known live: %v, want the source known to answer after the first window", knownLive)
	}
	q, err := env.QueryWorkflow(contract.StreamProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	var prog contract.StreamProgress
	if err := q.Get(&prog); err != nil || prog.WindowsDone != 3 || prog.FramesInRun != 180 {
		t.Errorf("progress %+v %v: every window's result is counted", prog, err)
	}
}

// Streams started together end their first windows spread over the second
// half of the window, so they do not reopen their sources all at once; a
// stream watched for a single window gets all of it.
func TestStreamWorkflowStaggersFirstWindows(t *testing.T) {
	var ends []float64
	for i := range 24 {
		d := staggered(fmt.Sprintf("watch-cam%d", i), 60)
		if d < 30 || d >= 60 || d != staggered(fmt.Sprintf("watch-cam%d", i), 60) {
			t.Fatalf("first window of cam%d: %v s, want a fixed length in [30, 60)", i, d)
		}
		ends = append(ends, d)
	}
	slices.Sort(ends)
	if spread := ends[len(ends)-1] - ends[0]; spread < 20 {
		t.Fatalf("24 first windows end within %.1f s of one another, want them spread: %v", spread, ends)
	}
	env := newEnv()
	var got []float64
	env.OnWorkflow(CaptureWorkflow, mock.Anything, mock.Anything).Return(func(ctx workflow.Context, in contract.CaptureInput) (contract.CaptureResult, error) {
		got = append(got, in.Settings.DurationSeconds)
		return contract.CaptureResult{}, nil
	})
	env.ExecuteWorkflow(StreamWorkflow, contract.StreamInput{StreamID: "lobby", MaxWindows: 1, Settings: contract.Settings{DurationSeconds: 60}})
	if err := env.GetWorkflowError(); err != nil || !slices.Equal(got, []float64{60}) {
		t.Fatalf("a single window: %v, %v; want one of 60 s", got, err)
	}
}
