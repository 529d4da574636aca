package workflows

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/sightline-video/sightline/activities"
	dbtlike "github.com/sightline-video/sightline/dbt_like"
	"github.com/sightline-video/sightline/internal/contract"
)

// diamond is a plan where base feeds left and right, which both feed top,
// and solo stands alone.
var diamond = activities.PlanRollupResult{
	Watermark: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
	Plan: dbtlike.Plan{
		Models: []dbtlike.PlanModel{
			{Name: "base"}, {Name: "solo"},
			{Name: "left", Deps: []string{"base"}}, {Name: "right", Deps: []string{"base"}},
			{Name: "top", Deps: []string{"left", "right"}},
		},
		Tests: []dbtlike.PlanTest{
			{Name: "base: unique(id)", Model: "base", Severity: "error"},
			{Name: "left: not_null(id)", Model: "left", Severity: "warn"},
		},
	},
}

// rollupRecorder mocks the rollup activities and records what ran when.
type rollupRecorder struct {
	mu       sync.Mutex
	events   []string // "start m", "end m", "test t"
	inFlight int
	maxBuild int
	failTest string
	res      RollupResult
	err      error
}

func (r *rollupRecorder) add(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *rollupRecorder) index(e string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Index(r.events, e)
}

func (r *rollupRecorder) mock(t *testing.T, plan activities.PlanRollupResult) func() {
	env := newEnv()
	env.RegisterWorkflow(RollupWorkflow)
	env.OnActivity(a.PlanRollup, mock.Anything, mock.Anything).Return(plan, nil).Once()
	env.OnActivity(a.BuildRollupModel, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BuildRollupModelInput) (dbtlike.ModelResult, error) {
			if !in.Watermark.Equal(plan.Watermark) || !in.FullRefresh {
				t.Errorf("build %s with watermark %s full_refresh %v", in.Model, in.Watermark, in.FullRefresh)
			}
			r.mu.Lock()
			r.events = append(r.events, "start "+in.Model)
			r.inFlight++
			r.maxBuild = max(r.maxBuild, r.inFlight)
			r.mu.Unlock()
			time.Sleep(30 * time.Millisecond)
			r.mu.Lock()
			r.inFlight--
			r.events = append(r.events, "end "+in.Model)
			r.mu.Unlock()
			return dbtlike.ModelResult{Name: in.Model, Mode: dbtlike.ModeFull}, nil
		})
	env.OnActivity(a.RunRollupTest, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RunRollupTestInput) (dbtlike.TestResult, error) {
			r.add("test " + in.Test)
			res := dbtlike.TestResult{Name: in.Test}
			if strings.HasPrefix(in.Test, "left") {
				res.Failures, res.Sample = 2, []string{"id=NULL"}
			}
			if in.Test == r.failTest {
				res.Failures = 1
				return res, temporal.NewNonRetryableApplicationError("test failed", activities.ErrTypeRollupTestFailed, nil, res)
			}
			return res, nil
		})
	return func() {
		env.ExecuteWorkflow(RollupWorkflow, contract.RollupInput{Select: []string{"base+", "solo"}, FullRefresh: true, Parallelism: 2})
		if !env.IsWorkflowCompleted() {
			t.Fatal("workflow did not complete")
		}
		r.err = env.GetWorkflowError()
		if r.err == nil {
			if err := env.GetWorkflowResult(&r.res); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestRollupWorkflowRunsModelsInDependencyOrderInParallel(t *testing.T) {
	r := &rollupRecorder{}
	r.mock(t, diamond)()
	if r.err != nil {
		t.Fatal(r.err)
	}
	before := func(x, y string) {
		t.Helper()
		if i, j := r.index(x), r.index(y); i < 0 || j < 0 || i > j {
			t.Errorf("%q (at %d) should come before %q (at %d): %v", x, i, y, j, r.events)
		}
	}
	before("end base", "test base: unique(id)")
	before("test base: unique(id)", "start left") // dependents wait for the tests
	before("test base: unique(id)", "start right")
	before("end left", "start top")
	before("end right", "start top")
	if r.maxBuild != 2 {
		t.Errorf("at most %d builds at once, want 2 (independent models in parallel, bounded by parallelism)", r.maxBuild)
	}
	if len(r.res.Models) != 5 || len(r.res.Tests) != 2 || r.res.Warnings != 1 || !r.res.Watermark.Equal(diamond.Watermark) {
		t.Errorf("result %+v", r.res)
	}
}

func TestRollupWorkflowStopsAtAFailingTest(t *testing.T) {
	r := &rollupRecorder{failTest: "base: unique(id)"}
	r.mock(t, diamond)()
	if r.err == nil || !strings.Contains(r.err.Error(), `rollup test "base: unique(id)" of model base`) {
		t.Fatalf("error %v, want the failing test named", r.err)
	}
	for _, m := range []string{"left", "right", "top"} {
		if r.index("start "+m) >= 0 {
			t.Errorf("model %s built after its input failed a test: %v", m, r.events)
		}
	}
}

// TestReplayRollupHistory replays a real RollupWorkflow run recorded by
// TestRollupWorkflowOnTemporal with SIGHTLINE_UPDATE_HISTORY=1.
func TestReplayRollupHistory(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(RollupWorkflow)
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := r.ReplayWorkflowHistoryFromJSONFile(logger, "testdata/rollup_history.json"); err != nil {
		t.Fatalf("replay: %v", err)
	}
}
