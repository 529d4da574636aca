package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sightline-video/sightline/activities"
	dbtlike "github.com/sightline-video/sightline/dbt_like"
	"github.com/sightline-video/sightline/internal/contract"
)

// DefaultRollupParallelism bounds the model builds a RollupWorkflow runs at once.
const DefaultRollupParallelism = 4

// RollupResult reports the models built and the tests run, in the order
// they finished.
type RollupResult struct {
	Watermark time.Time             `json:"watermark"`
	Models    []dbtlike.ModelResult `json:"models"`
	Tests     []dbtlike.TestResult  `json:"tests"`
	// Warnings counts tests of severity warn that found failing rows.
	Warnings int `json:"warnings"`
}

// RollupWorkflow runs the rollup models, each as an activity, in dependency
// order: a model starts once the models it reads are built and their data
// tests passed, so independent models build in parallel. A failing model or
// test stops new starts; the builds in flight finish, then the workflow
// fails naming it. It is started on its own, as a child of each
// CaptureWorkflow, and by the rollup schedule.
func RollupWorkflow(ctx workflow.Context, in contract.RollupInput) (RollupResult, error) {
	var res RollupResult
	if in.Parallelism < 0 {
		return res, temporal.NewNonRetryableApplicationError("invalid rollup input: parallelism must not be negative", "BadInput", nil)
	}
	if in.Parallelism == 0 {
		in.Parallelism = DefaultRollupParallelism
	}
	noRetry := []string{activities.ErrTypeBadRollup, activities.ErrTypeRollupTestFailed}
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 30 * time.Second, NonRetryableErrorTypes: noRetry},
	})
	long := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute, MaximumAttempts: 10, NonRetryableErrorTypes: noRetry},
	})
	var planned activities.PlanRollupResult
	if err := workflow.ExecuteActivity(short, a.PlanRollup, activities.PlanRollupInput{Select: in.Select, SkipTests: in.SkipTests}).
		Get(ctx, &planned); err != nil {
		return res, fmt.Errorf("plan rollup: %w", err)
	}
	res.Watermark = planned.Watermark
	plan := planned.Plan

	testsOf := map[string][]dbtlike.PlanTest{}
	for _, t := range plan.Tests {
		testsOf[t.Model] = append(testsOf[t.Model], t)
	}
	started := map[string]bool{}
	pendingTests := map[string]int{} // built model -> its tests still running
	done := map[string]bool{}        // built and tested
	building, inFlight := 0, 0
	var failure error
	sel := workflow.NewSelector(ctx)

	runTests := func(model string) {
		pendingTests[model] = len(testsOf[model])
		if pendingTests[model] == 0 {
			done[model] = true
		}
		for _, t := range testsOf[model] {
			inFlight++
			f := workflow.ExecuteActivity(short, a.RunRollupTest, activities.RunRollupTestInput{Test: t.Name})
			sel.AddFuture(f, func(f workflow.Future) {
				inFlight--
				var tr dbtlike.TestResult
				if err := f.Get(ctx, &tr); err != nil {
					if failure == nil {
						failure = fmt.Errorf("rollup test %q of model %s: %w", t.Name, model, err)
					}
					var ae *temporal.ApplicationError
					if errors.As(err, &ae) && ae.HasDetails() {
						_ = ae.Details(&tr)
						res.Tests = append(res.Tests, tr)
					}
					return
				}
				res.Tests = append(res.Tests, tr)
				if !tr.Passed() {
					res.Warnings++
				}
				if pendingTests[model]--; pendingTests[model] == 0 {
					done[model] = true
				}
			})
		}
	}
	launch := func() {
		for _, m := range plan.Models {
			if failure != nil || building >= in.Parallelism {
				return
			}
			if started[m.Name] || !allDone(m.Deps, done) {
				continue
			}
			started[m.Name] = true
			building++
			inFlight++
			f := workflow.ExecuteActivity(long, a.BuildRollupModel, activities.BuildRollupModelInput{
				Model: m.Name, FullRefresh: in.FullRefresh, Watermark: planned.Watermark,
			})
			sel.AddFuture(f, func(f workflow.Future) {
				building--
				inFlight--
				var mr dbtlike.ModelResult
				if err := f.Get(ctx, &mr); err != nil {
					if failure == nil {
						failure = fmt.Errorf("rollup model %s: %w", m.Name, err)
					}
					return
				}
				res.Models = append(res.Models, mr)
				runTests(m.Name)
			})
		}
	}
	for {
		launch()
		if inFlight == 0 {
			break
		}
		sel.Select(ctx)
	}
	if failure != nil {
		return res, failure
	}
	// Runs started before the event existed end here.
	if workflow.GetVersion(ctx, "rollup-finished-event", workflow.DefaultVersion, 1) >= 1 {
		ev := activities.RecordRollupInput{Tests: len(res.Tests), Warnings: res.Warnings, FullRefresh: in.FullRefresh,
			Watermark: res.Watermark}
		for _, m := range res.Models {
			ev.Models = append(ev.Models, m.Name)
		}
		// Only live clients miss it: the rollup itself succeeded.
		if err := workflow.ExecuteActivity(short, a.RecordRollup, ev).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("recording the rollup event failed", "error", err)
		}
	}
	return res, nil
}

func allDone(deps []string, done map[string]bool) bool {
	for _, d := range deps {
		if !done[d] {
			return false
		}
	}
	return true
}
