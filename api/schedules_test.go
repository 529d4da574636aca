package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/schedule"
	"github.com/sightline-video/sightline/internal/testenv"
)

// cleanupSchedule deletes the schedule when the test ends and terminates
// the captures it started (no worker polls the test's task queue).
func (e *env) cleanupSchedule(id string) {
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if d, err := schedule.Describe(ctx, e.temporal, id); err == nil {
			for _, a := range d.RecentActions {
				_ = e.temporal.TerminateWorkflow(ctx, a.WorkflowID, "", "api test finished")
			}
		}
		if err := schedule.Delete(ctx, e.temporal, id); err != nil && !errors.Is(err, schedule.ErrNotFound) {
			e.t.Errorf("cleanup of schedule %s: %v", id, err)
		}
	})
}

func TestSchedulesRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	stream := testenv.Name("cam")
	e.addStream(stream, "/videos/lobby.avi")
	id := "capture-" + stream
	e.cleanupSchedule(id)

	req := httptest.NewRequest(http.MethodPost, "/api/v1/schedules", strings.NewReader(
		`{"stream_id":"`+stream+`","every":"60m","offset":"5m","note":"hourly","capture":{"every_ms":1000,"duration_seconds":60}}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: status %d body %s", rec.Code, rec.Body)
	}
	if loc := rec.Header().Get("Location"); loc != "/api/v1/schedules/"+id {
		t.Errorf("Location = %q", loc)
	}
	var created schedule.Schedule
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	want := schedule.Spec{ID: id, StreamID: stream, Every: "1h", Offset: "5m", Note: "hourly",
		Capture: contract.Settings{EveryMS: 1000, DurationSeconds: 60, ChunkFrames: 50, DetectConcurrency: 4, DetectTaskQueue: e.taskQueue + "-detect"}}
	if created.Spec != want || created.TaskQueue != e.taskQueue || created.DetectTaskQueue != e.taskQueue+"-detect" ||
		created.Overlap != "SKIP" || created.CatchupWindow != "5m" || len(created.NextActionTimes) != 5 {
		t.Errorf("created = %+v, want spec %+v on queue %s", created, want, e.taskQueue)
	}

	// The list is eventually consistent.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var list []schedule.Summary
		e.get("/api/v1/schedules", http.StatusOK, &list)
		i := 0
		for i < len(list) && list[i].ID != id {
			i++
		}
		if i < len(list) {
			if s := list[i]; s.StreamID != stream || s.Every != "1h" || s.Paused || s.NextActionTime == nil {
				t.Errorf("listed %+v", s)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %s not listed after 15 s", id)
		}
		time.Sleep(200 * time.Millisecond)
	}

	var got schedule.Schedule
	e.expect(http.MethodPost, "/api/v1/schedules/"+id+"/pause", `{"note":"camera moved"}`, http.StatusOK, &got)
	if !got.Spec.Paused || got.Spec.Note != "camera moved" {
		t.Errorf("after pause: paused %v note %q", got.Spec.Paused, got.Spec.Note)
	}
	e.expect(http.MethodPost, "/api/v1/schedules/"+id+"/unpause", "", http.StatusOK, &got)
	if got.Spec.Paused || got.Spec.Note == "camera moved" {
		t.Errorf("after unpause: paused %v note %q", got.Spec.Paused, got.Spec.Note)
	}

	var trig ScheduleTriggered
	e.expect(http.MethodPost, "/api/v1/schedules/"+id+"/trigger", "", http.StatusAccepted, &trig)
	if trig.ScheduleID != id || trig.StatusURL != "/api/v1/schedules/"+id {
		t.Errorf("trigger answer %+v", trig)
	}
	// Temporal starts the capture asynchronously; it then shows with its capture id.
	deadline = time.Now().Add(15 * time.Second)
	for {
		e.get("/api/v1/schedules/"+id, http.StatusOK, &got)
		if len(got.RecentActions) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recent action 15 s after the trigger: %+v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a := got.RecentActions[0]
	// The schedule is deleted below, so cleanupSchedule cannot find this run.
	t.Cleanup(func() { _ = e.temporal.TerminateWorkflow(context.Background(), a.WorkflowID, "", "api test finished") })
	if !strings.HasPrefix(a.CaptureID, "capture-"+stream+"-sched-") || a.WorkflowID != a.CaptureID || a.StartedAt.IsZero() {
		t.Errorf("recent action %+v", a)
	}
	// The capture id is the workflow id GET /captures/{id} knows, with the stream from the memo.
	var cs CaptureStatus
	e.get("/api/v1/captures/"+a.CaptureID, http.StatusOK, &cs)
	if cs.StreamID != stream || cs.Workflow == nil || cs.Workflow.TaskQueue != e.taskQueue {
		t.Errorf("capture %s: %+v", a.CaptureID, cs)
	}
	if in := e.workflowInput(a.WorkflowID, a.RunID); in.StreamID != stream || in.EveryMS != 1000 ||
		in.DurationSeconds != 60 || in.DetectTaskQueue != e.taskQueue+"-detect" || in.Source != "" {
		t.Errorf("scheduled capture input = %+v", in)
	}

	code, body := e.do(http.MethodDelete, "/api/v1/schedules/"+id, "")
	if code != http.StatusNoContent || len(body) != 0 {
		t.Errorf("delete: status %d body %s, want 204 and no body", code, body)
	}
	e.wantError(http.MethodGet, "/api/v1/schedules/"+id, "", http.StatusNotFound, `schedule "`+id+`" not found`)
}

func TestScheduleCron(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	stream := testenv.Name("cam")
	e.addStream(stream, "/videos/dock.avi")
	id := testenv.Name("nightly")
	e.cleanupSchedule(id)
	var got schedule.Schedule
	e.expect(http.MethodPost, "/api/v1/schedules",
		`{"id":"`+id+`","stream_id":"`+stream+`","cron":"30 2 * * *","paused":true}`, http.StatusCreated, &got)
	if got.Spec.ID != id || got.Spec.Cron != "30 2 * * *" || !got.Spec.Paused || len(got.NextActionTimes) != 5 {
		t.Fatalf("created %+v", got)
	}
	for _, nt := range got.NextActionTimes {
		if nt.Hour() != 2 || nt.Minute() != 30 {
			t.Errorf("next action times %v are not 02:30 UTC", got.NextActionTimes)
			break
		}
	}
}

func TestScheduleBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	stream := testenv.Name("cam")
	e.addStream(stream, "/videos/lobby.avi")
	const path = "/api/v1/schedules"
	s := `"stream_id":"` + stream + `"`
	cases := []struct {
		name, body, want string
	}{
		{"empty body", ``, "body is empty"},
		{"malformed JSON", `{` + s, "malformed JSON"},
		{"unknown field", `{` + s + `,"every":"1h","interval":"1h"}`, `unknown field "interval"`},
		{"unknown capture field", `{` + s + `,"every":"1h","capture":{"fps":5}}`, `unknown field "fps"`},
		{"wrong type", `{` + s + `,"every":3600}`, `field "every"`},
		{"no stream", `{"every":"1h"}`, "stream_id: is required"},
		{"neither every nor cron", `{` + s + `}`, "every: set either every"},
		{"both every and cron", `{` + s + `,"every":"1h","cron":"0 * * * *"}`, "cron: set either every or cron, not both"},
		{"every too short", `{` + s + `,"every":"5s"}`, "every: 5s is shorter than the minimum of 10s"},
		{"bad cron", `{` + s + `,"cron":"0 25 * * *"}`, `cron: "0 25 * * *": hour "25"`},
		{"negative capture", `{` + s + `,"every":"1h","capture":{"max_frames":-1}}`, "capture.max_frames: must not be negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.s.Handler(), http.MethodPost, path, c.body, http.StatusBadRequest, c.want)
		})
	}

	e.wantError(http.MethodPost, path, `{"stream_id":"nope","every":"1h"}`, http.StatusNotFound, `stream "nope" not found`)

	id := testenv.Name("dup")
	e.cleanupSchedule(id)
	body := `{"id":"` + id + `",` + s + `,"every":"1h","paused":true}`
	e.expect(http.MethodPost, path, body, http.StatusCreated, nil)
	e.wantError(http.MethodPost, path, body, http.StatusConflict, `schedule "`+id+`" already exists`)

	missing := testenv.Name("missing")
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/" + missing},
		{http.MethodDelete, "/" + missing},
		{http.MethodPost, "/" + missing + "/pause"},
		{http.MethodPost, "/" + missing + "/unpause"},
		{http.MethodPost, "/" + missing + "/trigger"},
	} {
		e.wantError(r.method, path+r.path, "", http.StatusNotFound, `schedule "`+missing+`" not found`)
	}
	e.wantError(http.MethodPost, path+"/"+id+"/pause", `{"reason":"x"}`, http.StatusBadRequest, `unknown field "reason"`)
	e.wantError(http.MethodPost, path+"/"+id+"/trigger", `{"now":true}`, http.StatusBadRequest, `unknown field "now"`)
}

func TestSchedulesTemporalUnavailable(t *testing.T) {
	t.Parallel()
	pool, tc := unreachable(t)
	s := New(Deps{DB: pool, Temporal: tc, Log: testLogger(t)})
	s.rpcTimeout = time.Second
	wantError(t, s.Handler(), http.MethodGet, "/api/v1/schedules", "", http.StatusServiceUnavailable, "temporal unavailable")
	wantError(t, s.Handler(), http.MethodGet, "/api/v1/schedules/x", "", http.StatusServiceUnavailable, "temporal unavailable")
}
