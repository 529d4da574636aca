package activities

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"

	"go.temporal.io/sdk/temporal"

	dbtlike "github.com/sightline-video/sightline/dbt_like"
	"github.com/sightline-video/sightline/internal/testenv"
)

func TestRollupActivities(t *testing.T) {
	pool, _ := testenv.DB(t)
	ctx := context.Background()
	project, err := dbtlike.Load(fstest.MapFS{
		"nums.sql": {Data: []byte(`{{ test('not_null', 'n') }}{{ test('expression', 'n < 2', severity='warn') }}
SELECT * FROM (VALUES (1), (2), (NULL)) v(n)`)},
		"ok.sql": {Data: []byte(`{{ test('unique', 'n') }}SELECT n FROM {{ ref('nums') }} WHERE n IS NOT NULL`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &Activities{DB: pool, Rollup: project}

	planned, err := a.PlanRollup(ctx, PlanRollupInput{Select: []string{"ok"}})
	if err != nil || len(planned.Plan.Models) != 1 || planned.Watermark.IsZero() {
		t.Fatalf("plan: %+v %v", planned, err)
	}
	var ae *temporal.ApplicationError
	if _, err := a.PlanRollup(ctx, PlanRollupInput{Select: []string{"ghost"}}); !errors.As(err, &ae) || ae.Type() != ErrTypeBadRollup || !ae.NonRetryable() {
		t.Errorf("plan of an unknown model: %v", err)
	}

	for range 2 { // idempotent
		// The duration is in the result, for the per-model metrics.
		mr, err := a.BuildRollupModel(ctx, BuildRollupModelInput{Model: "nums", Watermark: planned.Watermark})
		if err != nil || mr.Rows != 3 || mr.Duration <= 0 {
			t.Fatalf("build nums: %+v %v", mr, err)
		}
	}
	if _, err := a.BuildRollupModel(ctx, BuildRollupModelInput{Model: "ghost"}); !errors.As(err, &ae) || ae.Type() != ErrTypeBadRollup {
		t.Errorf("build of an unknown model: %v", err)
	}

	// A failing test of severity error fails for good, with its rows.
	_, err = a.RunRollupTest(ctx, RunRollupTestInput{Test: "nums: not_null(n)"})
	if !errors.As(err, &ae) || ae.Type() != ErrTypeRollupTestFailed || !ae.NonRetryable() {
		t.Fatalf("failing test: %v", err)
	}
	var tr dbtlike.TestResult
	if err := ae.Details(&tr); err != nil || tr.Failures != 1 || tr.Model != "nums" || len(tr.Sample) != 1 || tr.Duration <= 0 {
		t.Errorf("details %+v %v", tr, err)
	}
	// One of severity warn reports its rows (2, and NULL: an expression
	// that is not true fails) and succeeds.
	tr, err = a.RunRollupTest(ctx, RunRollupTestInput{Test: "nums: expression(n < 2)"})
	if err != nil || tr.Failures != 2 {
		t.Errorf("warn test: %+v %v", tr, err)
	}
	if _, err := a.RunRollupTest(ctx, RunRollupTestInput{Test: "nope"}); !errors.As(err, &ae) || ae.Type() != ErrTypeBadRollup {
		t.Errorf("unknown test: %v", err)
	}
}
