package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sightline-video/sightline/internal/contract"
)

// RetentionWorkflow enforces a retention policy once, for example
// {"chunks_days":7,"rows_days":365}: it removes expired chunk objects and
// captures (streams may override both numbers), then, if rows went, rebuilds
// the rollups in full so the rankings no longer count them. A schedule runs
// it every SIGHTLINE_RETENTION_EVERY.
func RetentionWorkflow(ctx workflow.Context, in contract.Retention) (contract.RetentionResult, error) {
	var res contract.RetentionResult
	if err := in.Validate(); err != nil {
		return res, temporal.NewNonRetryableApplicationError("invalid retention input: "+err.Error(), "BadInput", nil)
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	if err := workflow.ExecuteActivity(actx, a.ApplyRetention, in).Get(ctx, &res); err != nil {
		return res, fmt.Errorf("apply retention: %w", err)
	}
	if res.CapturesDeleted > 0 {
		// Incremental models only see new rows: removed ones need a full build.
		rctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{RetryPolicy: contract.RollupRetry})
		if err := workflow.ExecuteChildWorkflow(rctx, RollupWorkflow, contract.RollupInput{FullRefresh: true}).Get(ctx, nil); err != nil {
			return res, fmt.Errorf("rollup after retention: %w", err)
		}
		res.Rollup = true
	}
	return res, nil
}
