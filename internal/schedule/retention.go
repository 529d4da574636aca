package schedule

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/sightline-video/sightline/internal/contract"
)

// RetentionID is the id of the schedule that enforces the retention policy.
const RetentionID = "retention"

// PutRetention creates the retention schedule, or replaces its interval and
// policy: RetentionWorkflow every interval on taskQueue (empty: the default
// main task queue), with the same overlap (SKIP) and catch-up policies as
// the other schedules. Workers call it at start, so the schedule follows
// their configuration.
func PutRetention(ctx context.Context, c client.Client, taskQueue string, every time.Duration, p contract.Retention) error {
	if err := p.Validate(); err != nil {
		return fieldError("", err)
	}
	if every < MinEvery {
		return invalid("every", "%s is shorter than the minimum of %s", every, formatDuration(MinEvery))
	}
	if taskQueue == "" {
		taskQueue = contract.DefaultTaskQueue
	}
	action := &client.ScheduleWorkflowAction{
		ID:        "retention-sched",
		Workflow:  contract.RetentionWorkflow,
		Args:      []any{p},
		TaskQueue: taskQueue,
	}
	timing := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: RetentionID, Spec: timing, Action: action, Overlap: Overlap, CatchupWindow: CatchupWindow,
		Note: "retention policy, kept up to date by the workers",
	})
	if err == nil {
		return nil
	}
	if err = classify("create", RetentionID, err); !errors.Is(err, ErrExists) {
		return err
	}
	err = c.ScheduleClient().GetHandle(ctx, RetentionID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec, s.Action = &timing, action
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return classify("update", RetentionID, err)
	}
	return nil
}
