// Package schedule runs recurring captures as Temporal Schedules: a schedule
// starts workflows.CaptureWorkflow for one stream every interval (or on a
// cron calendar), with workflow ids "capture-<stream>-sched-<scheduled
// time>", which are also the capture ids.
//
// Two policies are fixed for every schedule:
//
//   - Overlap SKIP: a stream's captures never run side by side. If a capture
//     overruns its interval, the start that falls due while it runs is
//     skipped, not queued; the next one after it finishes runs on time. Two
//     captures of one stream would read the same source twice and double its
//     counts, and a queue of late captures would only grow on a stream that
//     is always slower than its interval. A capture with neither max_frames
//     nor duration_seconds on a live source never ends, so every later start
//     is skipped: give live streams a limit.
//   - Catch-up window 5 minutes: after a Temporal outage, a start missed by
//     less than 5 minutes is still taken late, and older ones are dropped.
//     Temporal's default of one year would fire a burst of stale captures on
//     recovery; a capture is only useful near its time.
//
// Trigger follows the same overlap policy: triggering while a capture of
// the schedule runs does nothing. Delete removes the schedule but lets a
// running capture finish. Cron expressions are evaluated in UTC.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/sightline-video/sightline/internal/contract"
)

const (
	// MinEvery is the shortest interval accepted: Temporal's scheduler
	// does not keep shorter intervals reliably, and no capture is that short.
	MinEvery = 10 * time.Second
	// CatchupWindow is how late a missed start may still be taken.
	CatchupWindow = 5 * time.Minute
	// Overlap is the overlap policy of every schedule.
	Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
	// workflowName is the workflow type the action starts; List keeps only
	// schedules that start it.
	workflowName = contract.CaptureWorkflow
)

var (
	// ErrInvalid is wrapped by every validation error (see FieldError) and by
	// specs Temporal rejects.
	ErrInvalid = errors.New("invalid schedule")
	// ErrNotFound means there is no schedule with that id.
	ErrNotFound = errors.New("schedule not found")
	// ErrExists means a schedule with that id already exists.
	ErrExists = errors.New("schedule already exists")
)

// FieldError is a validation error naming the field at fault. It matches
// ErrInvalid with errors.Is.
type FieldError struct {
	Field string // JSON name, e.g. "every" or "capture.max_frames"
	Msg   string
}

func (e *FieldError) Error() string { return "invalid schedule: " + e.Field + ": " + e.Msg }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// fieldError turns a contract validation error into a FieldError whose
// field name has prefix.
func fieldError(prefix string, err error) error {
	var fe *contract.FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: prefix + fe.Field, Msg: fe.Msg}
	}
	return fmt.Errorf("%w: %v", ErrInvalid, err) //nolint:errorlint // the kind is what callers match, not the cause
}

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Timing says when a schedule fires: exactly one of Every and Cron.
type Timing struct {
	// Every is a Go duration, at least MinEvery. Starts fall on multiples of
	// it since the Unix epoch, plus Offset: "1h" fires on the hour.
	Every string `json:"every,omitempty"`
	// Cron is a standard 5-field cron expression (minute hour day-of-month
	// month day-of-week) in UTC, or @hourly, @daily, @weekly, @monthly, @yearly.
	Cron string `json:"cron,omitempty"`
	// Offset shifts Every's starts, e.g. every "1h" offset "15m" fires at
	// xx:15. Only with Every; from 0 to less than Every.
	Offset string `json:"offset,omitempty"`
}

// Spec describes a recurring capture.
// (Timing's fields are repeated rather than embedded so that JSON decoding
// errors name "every", not "Timing.every".)
type Spec struct {
	ID       string            `json:"id,omitempty"` // default "capture-<stream_id>"
	StreamID string            `json:"stream_id"`
	Every    string            `json:"every,omitempty"`  // see Timing
	Cron     string            `json:"cron,omitempty"`   // see Timing
	Offset   string            `json:"offset,omitempty"` // see Timing
	Capture  contract.Settings `json:"capture"`          // each capture's settings

	Paused bool   `json:"paused"`
	Note   string `json:"note,omitempty"`
}

// Timing returns the spec's timing.
func (s *Spec) Timing() Timing { return Timing{Every: s.Every, Cron: s.Cron, Offset: s.Offset} }

func (s *Spec) setTiming(t Timing) { s.Every, s.Cron, s.Offset = t.Every, t.Cron, t.Offset }

// Queues are the task queues the captures run on; empty means the defaults.
type Queues struct {
	Main      string // CaptureWorkflow's task queue
	Detect    string // the captures' DetectTaskQueue
	GPUDetect string // their DetectTaskQueue when they ask for "gpu"
}

func (q Queues) withDefaults() Queues {
	if q.Main == "" {
		q.Main = contract.DefaultTaskQueue
	}
	if q.Detect == "" {
		q.Detect = contract.DefaultDetectTaskQueue
	}
	if q.GPUDetect == "" {
		q.GPUDetect = contract.DefaultGPUDetectQueue
	}
	return q
}

// idPattern keeps schedule ids safe in URL paths and CLI arguments.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// DefaultID is the id of a stream's schedule when the spec names none.
func DefaultID(streamID string) string { return "capture-" + streamID }

// WorkflowIDPrefix is the workflow id of a schedule's captures; Temporal
// appends "-<scheduled time>" to make each one unique. A stream's default
// schedule uses "capture-<stream>-sched"; any other schedule of the stream
// adds its own id, so two schedules firing in the same second never collide.
func WorkflowIDPrefix(streamID, scheduleID string) string {
	if scheduleID == "" || scheduleID == DefaultID(streamID) {
		return "capture-" + streamID + "-sched"
	}
	return "capture-" + streamID + "-sched-" + scheduleID
}

// Validate checks the spec and fills its defaults: the id, the workflow's
// chunk_frames and detect_concurrency, and a canonical every and offset.
func (s *Spec) Validate() error {
	s.StreamID = strings.TrimSpace(s.StreamID)
	if err := contract.ValidateStreamID(s.StreamID); err != nil {
		return fieldError("", err)
	}
	s.ID = strings.TrimSpace(s.ID)
	if s.ID == "" {
		s.ID = DefaultID(s.StreamID)
	}
	if !idPattern.MatchString(s.ID) {
		return invalid("id", "%q is not a valid id: 1 to 200 letters, digits, '.', '_' or '-', starting with a letter or digit", s.ID)
	}
	t := s.Timing()
	if err := t.Validate(); err != nil {
		return err
	}
	s.setTiming(t)
	if err := s.Capture.Validate(); err != nil {
		return fieldError("capture.", err)
	}
	// Explicit defaults, so the input shown in the Temporal UI says what runs.
	det := s.Capture.DetectTaskQueue
	s.Capture = s.Capture.WithDefaults()
	s.Capture.DetectTaskQueue = det // the queue is the caller's Queues' choice
	s.Note = strings.TrimSpace(s.Note)
	return nil
}

// Validate checks that exactly one of Every and Cron is set and well formed,
// and rewrites Every and Offset in canonical form ("60m" becomes "1h").
func (t *Timing) Validate() error {
	t.Every, t.Cron, t.Offset = strings.TrimSpace(t.Every), strings.Join(strings.Fields(t.Cron), " "), strings.TrimSpace(t.Offset)
	switch {
	case t.Every == "" && t.Cron == "":
		return invalid("every", `set either every (a duration such as "1h") or cron (such as "0 * * * *")`)
	case t.Every != "" && t.Cron != "":
		return invalid("cron", "set either every or cron, not both")
	case t.Cron != "":
		if t.Offset != "" {
			return invalid("offset", "applies only with every, not with cron")
		}
		return validateCron(t.Cron)
	}
	every, err := time.ParseDuration(t.Every)
	if err != nil {
		return invalid("every", `%q is not a duration such as "90s", "15m" or "1h"`, t.Every)
	}
	if every < MinEvery {
		return invalid("every", "%s is shorter than the minimum of %s", t.Every, formatDuration(MinEvery))
	}
	t.Every = formatDuration(every)
	if t.Offset == "" {
		return nil
	}
	off, err := time.ParseDuration(t.Offset)
	if err != nil {
		return invalid("offset", `%q is not a duration such as "15m"`, t.Offset)
	}
	if off < 0 || off >= every {
		return invalid("offset", "%s must be at least 0 and less than every (%s)", t.Offset, t.Every)
	}
	t.Offset = formatDuration(off)
	if off == 0 {
		t.Offset = ""
	}
	return nil
}

// temporalSpec is the Temporal form of a validated Timing.
func (t Timing) temporalSpec() client.ScheduleSpec {
	if t.Cron != "" {
		return client.ScheduleSpec{CronExpressions: []string{t.Cron}}
	}
	every, _ := time.ParseDuration(t.Every)
	off, _ := time.ParseDuration(t.Offset)
	return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every, Offset: off}}}
}

// timingOf reads a Timing back from Temporal, which keeps cron expressions
// as calendars: they come back as an equivalent cron string.
func timingOf(s *client.ScheduleSpec) Timing {
	if s == nil {
		return Timing{}
	}
	if len(s.Intervals) > 0 {
		iv := s.Intervals[0]
		t := Timing{Every: formatDuration(iv.Every)}
		if iv.Offset != 0 {
			t.Offset = formatDuration(iv.Offset)
		}
		return t
	}
	if len(s.Calendars) > 0 {
		return Timing{Cron: cronOf(s.Calendars[0])}
	}
	if len(s.CronExpressions) > 0 {
		return Timing{Cron: s.CronExpressions[0]}
	}
	return Timing{}
}

// formatDuration drops the zero units time.Duration.String keeps: "1h", not "1h0m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Action is one capture the schedule started.
type Action struct {
	ScheduledAt time.Time `json:"scheduled_at"` // the time it was due
	StartedAt   time.Time `json:"started_at"`   // when Temporal started the workflow
	WorkflowID  string    `json:"workflow_id"`
	CaptureID   string    `json:"capture_id"` // the workflow id: GET /api/v1/captures/{capture_id}
	RunID       string    `json:"run_id"`
}

// Schedule is a schedule as Describe reports it.
type Schedule struct {
	Spec             Spec        `json:"spec"`
	TaskQueue        string      `json:"task_queue"`
	DetectTaskQueue  string      `json:"detect_task_queue"`
	WorkflowIDPrefix string      `json:"workflow_id_prefix"`
	Overlap          string      `json:"overlap"`        // SKIP
	CatchupWindow    string      `json:"catchup_window"` // 5m
	NextActionTimes  []time.Time `json:"next_action_times"`
	RecentActions    []Action    `json:"recent_actions"`    // oldest first
	RunningWorkflows []string    `json:"running_workflows"` // at most one, with SKIP
	ActionsTaken     int         `json:"actions_taken"`
	SkippedOverlap   int         `json:"actions_skipped_overlap"`
	MissedCatchup    int         `json:"actions_missed_catchup_window"`
	CreatedAt        time.Time   `json:"created_at"`
	UpdatedAt        *time.Time  `json:"updated_at,omitempty"`
}

// Summary is a schedule as List reports it.
type Summary struct {
	ID             string     `json:"id"`
	StreamID       string     `json:"stream_id"`
	Every          string     `json:"every,omitempty"`
	Cron           string     `json:"cron,omitempty"`
	Offset         string     `json:"offset,omitempty"`
	Paused         bool       `json:"paused"`
	Note           string     `json:"note,omitempty"`
	NextActionTime *time.Time `json:"next_action_time,omitempty"`
	LastAction     *Action    `json:"last_action,omitempty"`
}

// nextShown is how many upcoming starts Describe reports.
const nextShown = 5

// Create validates spec and creates its schedule. It returns the spec with
// its defaults filled in, the detect task queue included; ErrExists if the
// id is taken.
func Create(ctx context.Context, c client.Client, q Queues, spec Spec) (Spec, error) {
	if err := spec.Validate(); err != nil {
		return spec, err
	}
	q = q.withDefaults()
	// No Source: each capture reads the stream's registered source at its
	// start, so re-registering a stream retargets its schedule.
	spec.Capture = spec.Capture.WithQueues(q.Detect, q.GPUDetect).WithDefaults()
	in := contract.CaptureInput{StreamID: spec.StreamID, Settings: spec.Capture}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   spec.ID,
		Spec: spec.Timing().temporalSpec(),
		Action: &client.ScheduleWorkflowAction{
			ID:        WorkflowIDPrefix(spec.StreamID, spec.ID),
			Workflow:  contract.CaptureWorkflow,
			Args:      []any{in},
			TaskQueue: q.Main,
			// The memo lets GET /captures/{id} name the stream before the
			// workflow has written the capture row.
			Memo: map[string]any{"stream_id": spec.StreamID, "schedule_id": spec.ID},
		},
		Overlap:       Overlap,
		CatchupWindow: CatchupWindow,
		Paused:        spec.Paused,
		Note:          spec.Note,
		// List shows no action input; the memo tells it the stream.
		Memo: map[string]any{"stream_id": spec.StreamID},
	})
	if err != nil {
		return spec, classify("create", spec.ID, err)
	}
	return spec, nil
}

// Describe returns the schedule: its spec, state, next starts and recent
// captures.
func Describe(ctx context.Context, c client.Client, id string) (*Schedule, error) {
	d, err := c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		return nil, classify("describe", id, err)
	}
	act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || fmt.Sprint(act.Workflow) != workflowName {
		return nil, fmt.Errorf("describe schedule %q: it does not start %s: %w", id, workflowName, ErrNotFound)
	}
	var in contract.CaptureInput
	if len(act.Args) > 0 {
		p, ok := act.Args[0].(*commonpb.Payload)
		if !ok {
			return nil, fmt.Errorf("describe schedule %q: action input is a %T, not a payload", id, act.Args[0])
		}
		if err := converter.GetDefaultDataConverter().FromPayload(p, &in); err != nil {
			return nil, fmt.Errorf("describe schedule %q: decode capture input: %w", id, err)
		}
	}
	out := &Schedule{
		Spec: Spec{
			ID:       id,
			StreamID: in.StreamID,
			Capture:  in.Settings,
		},
		TaskQueue:        act.TaskQueue,
		DetectTaskQueue:  in.DetectTaskQueue,
		WorkflowIDPrefix: act.ID,
		NextActionTimes:  []time.Time{},
		RecentActions:    actionsOf(d.Info.RecentActions),
		RunningWorkflows: []string{},
		ActionsTaken:     d.Info.NumActions,
		SkippedOverlap:   d.Info.NumActionsSkippedOverlap,
		MissedCatchup:    d.Info.NumActionsMissedCatchupWindow,
		CreatedAt:        d.Info.CreatedAt,
	}
	out.Spec.setTiming(timingOf(d.Schedule.Spec))
	if st := d.Schedule.State; st != nil {
		out.Spec.Paused, out.Spec.Note = st.Paused, st.Note
	}
	if p := d.Schedule.Policy; p != nil {
		// The enum's String() is "Skip"; the proto name is what the Temporal UI and CLI show.
		out.Overlap = strings.TrimPrefix(enumspb.ScheduleOverlapPolicy_name[int32(p.Overlap)], "SCHEDULE_OVERLAP_POLICY_")
		out.CatchupWindow = formatDuration(p.CatchupWindow)
	}
	for i, t := range d.Info.NextActionTimes {
		if i == nextShown {
			break
		}
		out.NextActionTimes = append(out.NextActionTimes, t.UTC())
	}
	for _, w := range d.Info.RunningWorkflows {
		out.RunningWorkflows = append(out.RunningWorkflows, w.WorkflowID)
	}
	if !d.Info.LastUpdateAt.IsZero() {
		t := d.Info.LastUpdateAt.UTC()
		out.UpdatedAt = &t
	}
	return out, nil
}

func actionsOf(rs []client.ScheduleActionResult) []Action {
	out := []Action{}
	for _, r := range rs {
		a := Action{ScheduledAt: r.ScheduleTime.UTC(), StartedAt: r.ActualTime.UTC()}
		if w := r.StartWorkflowResult; w != nil {
			a.WorkflowID, a.CaptureID, a.RunID = w.WorkflowID, w.WorkflowID, w.FirstExecutionRunID
		}
		out = append(out, a)
	}
	return out
}

// List returns the capture schedules of the namespace, in Temporal's order.
// Temporal's list is eventually consistent: a schedule created a moment ago
// may be missing.
func List(ctx context.Context, c client.Client) ([]Summary, error) {
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	out := []Summary{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		// Other applications' schedules share the namespace.
		if e.WorkflowType.Name != workflowName {
			continue
		}
		t := timingOf(e.Spec)
		s := Summary{ID: e.ID, Every: t.Every, Cron: t.Cron, Offset: t.Offset, Paused: e.Paused, Note: e.Note}
		if p := e.Memo.GetFields()["stream_id"]; p != nil {
			// A memo that does not decode only loses the stream name.
			_ = converter.GetDefaultDataConverter().FromPayload(p, &s.StreamID)
		}
		if len(e.NextActionTimes) > 0 {
			t := e.NextActionTimes[0].UTC()
			s.NextActionTime = &t
		}
		if acts := actionsOf(e.RecentActions); len(acts) > 0 {
			s.LastAction = &acts[len(acts)-1]
		}
		out = append(out, s)
	}
	return out, nil
}

// Pause stops the schedule's starts until Unpause; note says why.
func Pause(ctx context.Context, c client.Client, id, note string) error {
	if note = strings.TrimSpace(note); note == "" {
		note = "paused with sightline"
	}
	if err := c.ScheduleClient().GetHandle(ctx, id).Pause(ctx, client.SchedulePauseOptions{Note: note}); err != nil {
		return classify("pause", id, err)
	}
	return nil
}

// Unpause resumes the schedule's starts. Starts missed while paused are
// not made up.
func Unpause(ctx context.Context, c client.Client, id, note string) error {
	if note = strings.TrimSpace(note); note == "" {
		note = "unpaused with sightline"
	}
	if err := c.ScheduleClient().GetHandle(ctx, id).Unpause(ctx, client.ScheduleUnpauseOptions{Note: note}); err != nil {
		return classify("unpause", id, err)
	}
	return nil
}

// Trigger starts a capture now, paused or not. With the SKIP policy it does
// nothing while a capture of this schedule is running.
func Trigger(ctx context.Context, c client.Client, id string) error {
	// Overlap unspecified: the schedule's own policy applies.
	if err := c.ScheduleClient().GetHandle(ctx, id).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		return classify("trigger", id, err)
	}
	return nil
}

// Delete removes the schedule. A capture it started keeps running.
func Delete(ctx context.Context, c client.Client, id string) error {
	if err := c.ScheduleClient().GetHandle(ctx, id).Delete(ctx); err != nil {
		return classify("delete", id, err)
	}
	return nil
}

// Update replaces the schedule's timing, keeping its capture and state.
func Update(ctx context.Context, c client.Client, id string, t Timing) (Timing, error) {
	if err := t.Validate(); err != nil {
		return t, err
	}
	err := c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			spec := t.temporalSpec()
			s.Spec = &spec
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return t, classify("update", id, err)
	}
	return t, nil
}

// classify turns Temporal's answers into the package's sentinel errors and
// says which operation on which schedule failed.
func classify(op, id string, err error) error {
	var (
		nf  *serviceerror.NotFound
		inv *serviceerror.InvalidArgument
	)
	switch {
	case errors.Is(err, temporal.ErrScheduleAlreadyRunning):
		return fmt.Errorf("%s schedule %q: %w", op, id, ErrExists)
	case errors.As(err, &nf):
		return fmt.Errorf("%s schedule %q: %w", op, id, ErrNotFound)
	case errors.As(err, &inv):
		return fmt.Errorf("%s schedule %q: %w: %s", op, id, ErrInvalid, inv.Message)
	default:
		return fmt.Errorf("%s schedule %q: %w", op, id, err)
	}
}
