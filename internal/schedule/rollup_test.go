package schedule

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/testenv"
)

func TestRollupSchedule(t *testing.T) {
	f := newFixture(t)
	ctx := ctxFor(t)
	id := testenv.Name("rollup")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if d, err := DescribeRollup(ctx, f.c, id); err == nil {
			for _, a := range d.Actions {
				_ = f.c.TerminateWorkflow(ctx, a.WorkflowID, "", "schedule test finished")
			}
		}
		_ = Delete(ctx, f.c, id)
	})

	spec, err := PutRollup(ctx, f.c, f.queues.Main, RollupSpec{ID: id, Every: "300s",
		Input: contract.RollupInput{Select: []string{"object_counts+"}}})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Every != "5m" {
		t.Errorf("every %q, want the canonical 5m", spec.Every)
	}
	d, err := DescribeRollup(ctx, f.c, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Every != "5m" || d.TaskQueue != f.queues.Main || strings.Join(d.Spec.Input.Select, ",") != "object_counts+" {
		t.Errorf("described %+v", d)
	}

	// Putting it again replaces timing and input.
	if _, err := PutRollup(ctx, f.c, f.queues.Main, RollupSpec{ID: id, Cron: "*/10 * * * *",
		Input: contract.RollupInput{FullRefresh: true}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		d, err = DescribeRollup(ctx, f.c, id)
		if err == nil && d.Spec.Cron == "*/10 * * * *" && d.Spec.Every == "" && d.Spec.Input.FullRefresh {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("update not applied: %+v %v", d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Triggering starts a RollupWorkflow.
	if err := Trigger(ctx, f.c, id); err != nil {
		t.Fatal(err)
	}
	for {
		d, err = DescribeRollup(ctx, f.c, id)
		if err == nil && len(d.Actions) == 1 {
			break
		}
		if time.Now().After(deadline.Add(15 * time.Second)) {
			t.Fatalf("trigger started nothing: %+v %v", d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasPrefix(d.Actions[0].WorkflowID, "rollup-sched-"+id) {
		t.Errorf("started %s", d.Actions[0].WorkflowID)
	}
	desc, err := f.c.DescribeWorkflowExecution(ctx, d.Actions[0].WorkflowID, "")
	if err != nil || desc.WorkflowExecutionInfo.Type.Name != "RollupWorkflow" {
		t.Errorf("started workflow: %v %v", desc, err)
	}

	// A capture schedule is neither described nor replaced as a rollup one.
	capture := f.create(Spec{StreamID: "lobby", Every: "1h", ID: testenv.Name("cap")})
	if _, err := DescribeRollup(ctx, f.c, capture.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("describe a capture schedule as rollup: %v", err)
	}
	if _, err := PutRollup(ctx, f.c, "", RollupSpec{ID: capture.ID, Every: "5m"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("put over a capture schedule: %v", err)
	}
	if _, err := PutRollup(ctx, f.c, "", RollupSpec{ID: id}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no timing: %v", err)
	}

	if err := DeleteRollup(ctx, f.c, id); err != nil {
		t.Fatal(err)
	}
	if err := DeleteRollup(ctx, f.c, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}
