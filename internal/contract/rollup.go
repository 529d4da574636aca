package contract

import (
	"time"

	"go.temporal.io/sdk/temporal"
)

// RollupInput starts a RollupWorkflow, for example {} (every model) or
// {"select":["object_counts+"],"full_refresh":true}.
type RollupInput struct {
	Select      []string `json:"select,omitempty"`       // models: name, +name (with upstream), name+ (with downstream)
	FullRefresh bool     `json:"full_refresh,omitempty"` // rebuild incremental models from scratch
	SkipTests   bool     `json:"skip_tests,omitempty"`   // build without running the data tests
	Parallelism int      `json:"parallelism,omitempty"`  // model builds at once (default 4)
}

// RollupRetry is the retry policy of the RollupWorkflows that captures,
// deletes and retention start: a run whose data tests read models that a
// concurrent run was rebuilding fails, and its next attempt, after the
// other run, builds a consistent set.
var RollupRetry = &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 4}
