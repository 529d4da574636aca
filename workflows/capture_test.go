package workflows

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/sightline-video/sightline/activities"
	"github.com/sightline-video/sightline/internal/contract"
)

// newEnv returns a test environment that keeps the SDK's debug chatter out
// of the test output.
func newEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return s.NewTestWorkflowEnvironment()
}

func chunkRefs(n int) []activities.ChunkRef {
	refs := make([]activities.ChunkRef, n)
	for i := range refs {
		refs[i] = activities.ChunkRef{Seq: i, Key: "k", FirstFrame: i * 10, Frames: 10}
	}
	return refs
}

func TestCaptureWorkflowDetectsEveryChunkWithBoundedConcurrency(t *testing.T) {
	env := newEnv()
	env.OnActivity(a.BeginCapture, mock.Anything, mock.Anything).Return(activities.BeginCaptureResult{Source: "/v.avi"}, nil)
	env.OnActivity(a.CaptureFrames, mock.Anything, mock.MatchedBy(func(in activities.CaptureInput) bool {
		return in.Source == "/v.avi" && in.ChunkFrames == 10 && in.StreamID == "lobby"
	})).Return(activities.CaptureProgress{Sampled: 70, Chunks: chunkRefs(7), Done: true}, nil)

	var inFlight, maxInFlight atomic.Int32
	var mu sync.Mutex
	seen := map[int]int{}
	env.OnActivity(a.DetectChunk, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DetectInput) (activities.DetectResult, error) {
			n := inFlight.Add(1)
			for {
				m := maxInFlight.Load()
				if n <= m || maxInFlight.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
			inFlight.Add(-1)
			mu.Lock()
			seen[in.Chunk.Seq]++
			mu.Unlock()
			return activities.DetectResult{Frames: 10, Detections: 3}, nil
		})
	// Tracking takes the chunks one at a time, in order, each once it is detected.
	var tracked []int
	env.OnActivity(a.TrackChunk, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.TrackInput) (activities.TrackResult, error) {
			mu.Lock()
			defer mu.Unlock()
			if seen[in.Seq] != 1 {
				t.Errorf("chunk %d tracked before it was detected", in.Seq)
			}
			tracked = append(tracked, in.Seq)
			return activities.TrackResult{Tracks: 2 * len(tracked), Crossings: len(tracked)}, nil
		})
	env.OnActivity(a.FinishTracking, mock.Anything, mock.Anything).Return(activities.TrackResult{Tracks: 14, Crossings: 8}, nil).Once()
	env.RegisterWorkflow(RollupWorkflow)
	env.OnWorkflow(RollupWorkflow, mock.Anything, contract.RollupInput{}).Return(RollupResult{}, nil).Once()
	env.OnActivity(a.FinishCapture, mock.Anything, mock.MatchedBy(func(in activities.FinishCaptureInput) bool {
		return in.Status == "completed" && in.Frames == 70
	})).Return(nil).Once()

	// Chunks announced by signal, some twice, are still detected once each.
	env.RegisterDelayedCallback(func() {
		for _, seq := range []int{0, 1, 0, 2} {
			env.SignalWorkflow(activities.ChunkReadySignal, chunkRefs(7)[seq])
		}
	}, 0)
	env.ExecuteWorkflow(CaptureWorkflow, contract.CaptureInput{StreamID: "lobby", Settings: contract.Settings{ChunkFrames: 10, DetectConcurrency: 2}})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res contract.CaptureResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Frames != 70 || res.Chunks != 7 || res.Detections != 21 || res.Tracks != 14 || res.Crossings != 8 {
		t.Fatalf("result %+v, want 70 frames, 7 chunks, 21 detections, 14 tracks, 8 crossings", res)
	}
	if want := []int{0, 1, 2, 3, 4, 5, 6}; !slices.Equal(tracked, want) {
		t.Errorf("chunks tracked in the order %v, want %v", tracked, want)
	}
	for seq := 0; seq < 7; seq++ {
		if seen[seq] != 1 {
			t.Errorf("chunk %d detected %d times, want once", seq, seen[seq])
		}
	}
	if m := maxInFlight.Load(); m > 2 {
		t.Errorf("%d detections in flight, want at most 2", m)
	}
	var prog contract.CaptureProgress
	q, err := env.QueryWorkflow(contract.ProgressQuery)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Get(&prog); err != nil {
		t.Fatal(err)
	}
	if prog.Phase != "done" || prog.ChunksDetected != 7 || prog.FramesAnalysed != 70 || prog.ChunksTracked != 7 {
		t.Fatalf("progress %+v", prog)
	}
	env.AssertExpectations(t)
}

func TestCaptureWorkflowRecordsFailureOfABadSource(t *testing.T) {
	env := newEnv()
	env.OnActivity(a.BeginCapture, mock.Anything, mock.Anything).Return(activities.BeginCaptureResult{Source: "/missing.avi"}, nil)
	env.OnActivity(a.CaptureFrames, mock.Anything, mock.Anything).Return(activities.CaptureProgress{},
		temporal.NewNonRetryableApplicationError("video: open \"/missing.avi\": no such file", "BadSource", nil)).Once()
	env.OnActivity(a.FinishCapture, mock.Anything, mock.MatchedBy(func(in activities.FinishCaptureInput) bool {
		return in.Status == "failed" && in.Error != ""
	})).Return(nil).Once()

	env.ExecuteWorkflow(CaptureWorkflow, contract.CaptureInput{StreamID: "lobby", Source: "/missing.avi"})
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), `"/missing.avi": no such file`) {
		t.Fatalf("workflow error = %v, want one naming the missing source", err)
	}
	env.AssertExpectations(t)
}

// A cancel that arrives while BeginCapture records the capture still
// leaves it recorded as canceled, not running for ever.
func TestCaptureWorkflowCanceledWhileBeginning(t *testing.T) {
	env := newEnv()
	env.OnActivity(a.BeginCapture, mock.Anything, mock.Anything).After(5*time.Second).
		Return(activities.BeginCaptureResult{Source: "rtmp://cam/live"}, nil).Once()
	env.OnActivity(a.FinishCapture, mock.Anything, mock.MatchedBy(func(in activities.FinishCaptureInput) bool {
		return in.Status == "canceled" && in.Error == ""
	})).Return(nil).Once()
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Second)
	env.ExecuteWorkflow(CaptureWorkflow, contract.CaptureInput{StreamID: "lobby"})
	if err := env.GetWorkflowError(); !temporal.IsCanceledError(err) {
		t.Fatalf("workflow error = %v, want canceled", err)
	}
	env.AssertExpectations(t) // no CaptureFrames: it has no mock, and would fail the run
}

func TestCaptureWorkflowRejectsInvalidInput(t *testing.T) {
	for _, in := range []contract.CaptureInput{{}, {StreamID: "x", Settings: contract.Settings{EveryMS: -1}}} {
		env := newEnv()
		env.ExecuteWorkflow(CaptureWorkflow, in)
		if err := env.GetWorkflowError(); err == nil {
			t.Errorf("input %+v accepted", in)
		}
	}
}
