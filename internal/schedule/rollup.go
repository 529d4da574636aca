package schedule

import (
	"context"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/sightline-video/sightline/internal/contract"
)

// DefaultRollupID is the id of the rollup schedule when none is given.
const DefaultRollupID = "rollup"

// rollupWorkflowName is the workflow type a rollup schedule starts.
const rollupWorkflowName = "RollupWorkflow"

// RollupSpec describes a recurring rollup: RollupWorkflow every interval
// or on a cron calendar, with the same overlap (SKIP: a rollup that
// overruns its interval is not doubled) and catch-up (5 minutes) policies
// as capture schedules.
type RollupSpec struct {
	ID     string               `json:"id,omitempty"` // default "rollup"
	Every  string               `json:"every,omitempty"`
	Cron   string               `json:"cron,omitempty"`
	Offset string               `json:"offset,omitempty"`
	Input  contract.RollupInput `json:"input"`
	Paused bool                 `json:"paused"`
	Note   string               `json:"note,omitempty"`
}

// RollupSchedule is a rollup schedule as DescribeRollup reports it.
type RollupSchedule struct {
	Spec      RollupSpec `json:"spec"`
	TaskQueue string     `json:"task_queue"`
	Actions   []Action   `json:"recent_actions"`
}

func (s *RollupSpec) validate() error {
	if s.ID == "" {
		s.ID = DefaultRollupID
	}
	if !idPattern.MatchString(s.ID) {
		return invalid("id", "%q is not a valid id: 1 to 200 letters, digits, '.', '_' or '-', starting with a letter or digit", s.ID)
	}
	t := Timing{Every: s.Every, Cron: s.Cron, Offset: s.Offset}
	if err := t.Validate(); err != nil {
		return err
	}
	s.Every, s.Cron, s.Offset = t.Every, t.Cron, t.Offset
	if s.Input.Parallelism < 0 {
		return invalid("input.parallelism", "must not be negative")
	}
	return nil
}

// PutRollup creates the rollup schedule, or replaces the timing and input
// of the one with the same id. taskQueue is where RollupWorkflow runs
// (empty: the default main task queue). It returns the spec with its
// defaults filled in.
func PutRollup(ctx context.Context, c client.Client, taskQueue string, spec RollupSpec) (RollupSpec, error) {
	if err := spec.validate(); err != nil {
		return spec, err
	}
	if taskQueue == "" {
		taskQueue = contract.DefaultTaskQueue
	}
	action := &client.ScheduleWorkflowAction{
		ID:        "rollup-sched-" + spec.ID,
		Workflow:  contract.RollupWorkflow,
		Args:      []any{spec.Input},
		TaskQueue: taskQueue,
	}
	timing := Timing{Every: spec.Every, Cron: spec.Cron, Offset: spec.Offset}.temporalSpec()
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: spec.ID, Spec: timing, Action: action, Overlap: Overlap, CatchupWindow: CatchupWindow,
		Paused: spec.Paused, Note: spec.Note,
	})
	if err == nil {
		return spec, nil
	}
	if err = classify("create", spec.ID, err); !errors.Is(err, ErrExists) {
		return spec, err
	}
	if _, err := DescribeRollup(ctx, c, spec.ID); err != nil {
		return spec, err // another kind of schedule holds the id
	}
	err = c.ScheduleClient().GetHandle(ctx, spec.ID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			s.Spec, s.Action = &timing, action
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return spec, classify("update", spec.ID, err)
	}
	return spec, nil
}

// DescribeRollup returns the rollup schedule with this id; ErrNotFound if
// there is none or the schedule starts something else.
func DescribeRollup(ctx context.Context, c client.Client, id string) (*RollupSchedule, error) {
	d, err := c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		return nil, classify("describe", id, err)
	}
	act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || fmt.Sprint(act.Workflow) != rollupWorkflowName {
		return nil, fmt.Errorf("describe schedule %q: it does not start %s: %w", id, rollupWorkflowName, ErrNotFound)
	}
	out := &RollupSchedule{Spec: RollupSpec{ID: id}, TaskQueue: act.TaskQueue, Actions: actionsOf(d.Info.RecentActions)}
	if len(act.Args) > 0 {
		p, ok := act.Args[0].(*commonpb.Payload)
		if !ok {
			return nil, fmt.Errorf("describe schedule %q: action input is a %T, not a payload", id, act.Args[0])
		}
		if err := converter.GetDefaultDataConverter().FromPayload(p, &out.Spec.Input); err != nil {
			return nil, fmt.Errorf("describe schedule %q: decode rollup input: %w", id, err)
		}
	}
	t := timingOf(d.Schedule.Spec)
	out.Spec.Every, out.Spec.Cron, out.Spec.Offset = t.Every, t.Cron, t.Offset
	if st := d.Schedule.State; st != nil {
		out.Spec.Paused, out.Spec.Note = st.Paused, st.Note
	}
	return out, nil
}

// DeleteRollup removes the rollup schedule with this id; a running rollup
// finishes.
func DeleteRollup(ctx context.Context, c client.Client, id string) error {
	if _, err := DescribeRollup(ctx, c, id); err != nil {
		return err
	}
	return Delete(ctx, c, id)
}
