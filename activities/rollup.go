package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	dbtlike "github.com/sightline-video/sightline/dbt_like"
)

// Error types of the rollup activities that a retry cannot fix.
const (
	// ErrTypeRollupTestFailed: a data test of severity error found failing
	// rows; its details hold the dbtlike.TestResult.
	ErrTypeRollupTestFailed = "RollupTestFailed"
	// ErrTypeBadRollup: the selection, a model or a test is not valid.
	ErrTypeBadRollup = "BadRollup"
)

// PlanRollupInput selects what a RollupWorkflow builds.
type PlanRollupInput struct {
	Select    []string `json:"select,omitempty"`
	SkipTests bool     `json:"skip_tests,omitempty"`
}

// PlanRollupResult is the plan and the run's ingestion watermark, which
// every model of the run shares.
type PlanRollupResult struct {
	Plan      dbtlike.Plan `json:"plan"`
	Watermark time.Time    `json:"watermark"`
}

// PlanRollup resolves the selection into models and tests in dependency
// order and reads the ingestion watermark of the run.
func (a *Activities) PlanRollup(ctx context.Context, in PlanRollupInput) (PlanRollupResult, error) {
	plan, err := a.Rollup.Plan(in.Select, in.SkipTests)
	if err != nil {
		return PlanRollupResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("plan rollup %v: %v", in.Select, err), ErrTypeBadRollup, err)
	}
	wm, err := dbtlike.Watermark(ctx, a.DB)
	if err != nil {
		return PlanRollupResult{}, fmt.Errorf("plan rollup %v: %w", in.Select, err)
	}
	return PlanRollupResult{Plan: plan, Watermark: wm}, nil
}

// BuildRollupModelInput names one model to build.
type BuildRollupModelInput struct {
	Model       string    `json:"model"`
	FullRefresh bool      `json:"full_refresh,omitempty"`
	Watermark   time.Time `json:"watermark"`
}

// BuildRollupModel builds one model. It is idempotent: a table is rebuilt
// whole, and an incremental model replaces the partitions it re-derives,
// so a retry after a crash converges on the same rows.
func (a *Activities) BuildRollupModel(ctx context.Context, in BuildRollupModelInput) (dbtlike.ModelResult, error) {
	if _, ok := a.Rollup.Model(in.Model); !ok {
		return dbtlike.ModelResult{}, temporal.NewNonRetryableApplicationError("unknown rollup model "+in.Model, ErrTypeBadRollup, nil)
	}
	began := time.Now()
	res, err := a.Rollup.BuildModel(ctx, a.DB, in.Model, dbtlike.BuildOptions{
		FullRefresh: in.FullRefresh, Watermark: in.Watermark, Logger: a.log(),
	})
	if err != nil {
		return res, fmt.Errorf("build rollup model %s: %w", in.Model, err)
	}
	a.Metrics.RolledUp(in.Model, time.Since(began))
	return res, nil
}

// RunRollupTestInput names one data test.
type RunRollupTestInput struct {
	Test string `json:"test"`
}

// RunRollupTest runs one data test. A failing test of severity error fails
// for good (retrying reads the same rows), with the result as details; one
// of severity warn returns its failing rows.
func (a *Activities) RunRollupTest(ctx context.Context, in RunRollupTestInput) (dbtlike.TestResult, error) {
	res, err := a.Rollup.RunTest(ctx, a.DB, in.Test, nil)
	if res.Name != "" && !res.Passed() {
		a.Metrics.TestFailed(in.Test)
	}
	var failed *dbtlike.TestFailedError
	switch {
	case errors.As(err, &failed):
		return res, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRollupTestFailed, nil, res)
	case err != nil && res.Name == "":
		return res, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadRollup, err)
	case err != nil:
		return res, fmt.Errorf("run rollup test %s: %w", in.Test, err)
	}
	if !res.Passed() {
		a.log().Warn("rollup test found failing rows", "test", res.Name, "model", res.Model,
			"failures", res.Failures, "sample", res.Sample)
	}
	return res, nil
}

// RecordRollupInput summarises a finished RollupWorkflow run.
type RecordRollupInput struct {
	Models      []string  `json:"models"`
	Tests       int       `json:"tests"`
	Warnings    int       `json:"warnings"`
	FullRefresh bool      `json:"full_refresh"`
	Watermark   time.Time `json:"watermark"`
}

// RecordRollup writes the rollup.finished event, so live clients know the
// counts and rankings changed. A retry may write it twice, which clients
// tolerate: events are delivered at least once.
func (a *Activities) RecordRollup(ctx context.Context, in RecordRollupInput) error {
	if in.Models == nil {
		in.Models = []string{}
	}
	if _, err := a.DB.Exec(ctx, `INSERT INTO events (type, stream_id, capture_id, data)
		VALUES ('rollup.finished', '', '', $1)`, in); err != nil {
		return fmt.Errorf("record rollup event: %w", err)
	}
	return nil
}
