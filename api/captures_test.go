package api

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/sightline-video/sightline/internal/contract"
)

// startCapture starts a capture through the API, checks the 202 answer and arranges for the workflow to be
// terminated when the test ends.
func (e *env) startCapture(stream, body string) CaptureStarted {
	e.t.Helper()
	var got CaptureStarted
	e.expect(http.MethodPost, "/api/v1/streams/"+stream+"/captures", body, http.StatusAccepted, &got)
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.temporal.TerminateWorkflow(ctx, got.WorkflowID, "", "api test finished")
	})
	return got
}

// workflowInput reads the input a workflow was started with from its history.
func (e *env) workflowInput(id, runID string) contract.CaptureInput {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := e.temporal.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	ev, err := it.Next()
	if err != nil {
		e.t.Fatalf("history of %s: %v", id, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		e.t.Fatalf("first event of %s is %v, not WorkflowExecutionStarted", id, ev.GetEventType())
	}
	if got := attrs.GetWorkflowType().GetName(); got != "CaptureWorkflow" {
		e.t.Errorf("workflow type = %q, want CaptureWorkflow", got)
	}
	var in contract.CaptureInput
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in); err != nil {
		e.t.Fatalf("decode input of %s: %v", id, err)
	}
	return in
}

func TestStartCapture(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addStream("lobby", "/videos/lobby.avi")

	before := time.Now().UTC().Truncate(time.Second)
	got := e.startCapture("lobby", `{"every_ms":200,"chunk_frames":25,"max_frames":100,"detect_concurrency":2}`)
	idRE := regexp.MustCompile(`^capture-lobby-(\d{8}T\d{6}Z)-[0-9a-f]{4}$`)
	m := idRE.FindStringSubmatch(got.CaptureID)
	if m == nil {
		t.Fatalf("capture id %q does not match %s", got.CaptureID, idRE)
	}
	if ts, err := time.Parse("20060102T150405Z", m[1]); err != nil || ts.Before(before) || ts.After(time.Now().Add(time.Second)) {
		t.Errorf("capture id timestamp %s is not now (%v)", m[1], err)
	}
	if got.WorkflowID != got.CaptureID || got.RunID == "" || got.StatusURL != "/api/v1/captures/"+got.CaptureID {
		t.Errorf("start answer = %+v", got)
	}

	// The workflow runs on the server, on our task queue, with the input we asked for.
	ctx := context.Background()
	desc, err := e.temporal.DescribeWorkflowExecution(ctx, got.WorkflowID, got.RunID)
	if err != nil {
		t.Fatalf("describe %s: %v", got.WorkflowID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || info.GetTaskQueue() != e.taskQueue {
		t.Errorf("workflow status %v on queue %q, want RUNNING on %q", info.GetStatus(), info.GetTaskQueue(), e.taskQueue)
	}
	want := contract.CaptureInput{StreamID: "lobby", Source: "/videos/lobby.avi", Settings: contract.Settings{EveryMS: 200, ChunkFrames: 25, MaxFrames: 100, DetectConcurrency: 2, DetectTaskQueue: e.taskQueue + "-detect"}}
	if in := e.workflowInput(got.WorkflowID, got.RunID); in != want {
		t.Errorf("workflow input = %+v, want %+v", in, want)
	}

	// Without a body the defaults are filled in.
	def := e.startCapture("lobby", "")
	want = contract.CaptureInput{StreamID: "lobby", Source: "/videos/lobby.avi", Settings: contract.Settings{ChunkFrames: contract.DefaultChunkFrames, DetectConcurrency: contract.DefaultDetectConcurrency, DetectTaskQueue: e.taskQueue + "-detect"}}
	if in := e.workflowInput(def.WorkflowID, def.RunID); in != want {
		t.Errorf("workflow input without body = %+v, want %+v", in, want)
	}
	if def.CaptureID == got.CaptureID {
		t.Errorf("two captures got the same id %s", def.CaptureID)
	}
	// Every setting, including a duration for live sources and the GPU queue.
	all := e.startCapture("lobby", `{"duration_seconds":30,"gpu":true,"skip_rollup":true,
		"detect":{"model":"picodet_s_416_coco","filter":{"classes":["person"],"min_score":0.4}}}`)
	if in := e.workflowInput(all.WorkflowID, all.RunID); in.DurationSeconds != 30 || !in.GPU || !in.SkipRollup ||
		in.DetectTaskQueue != contract.DefaultGPUDetectQueue || in.Detect == nil || in.Detect.Model != "picodet_s_416_coco" ||
		in.Detect.Filter.MinScore != float32(0.4) {
		t.Errorf("settings not passed on: %+v", in)
	}
	skip := e.startCapture("lobby", `{"skip_rollup":true}`)
	if in := e.workflowInput(skip.WorkflowID, skip.RunID); !in.SkipRollup {
		t.Errorf("skip_rollup not passed on: %+v", in)
	}

	// Before the workflow records its row, the status comes from Temporal alone.
	var st CaptureStatus
	e.get(got.StatusURL, http.StatusOK, &st)
	if st.CaptureID != got.CaptureID || st.StreamID != "lobby" || st.Status != "pending" || st.Recorded ||
		st.Workflow == nil || st.Workflow.Status != "RUNNING" || st.Workflow.RunID != got.RunID ||
		st.Workflow.TaskQueue != e.taskQueue || st.StartedAt == nil || st.Progress != nil {
		t.Errorf("status of a started capture = %+v (workflow %+v)", st, st.Workflow)
	}
}

func TestStartCaptureBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addStream("lobby", "/videos/lobby.avi")
	const path = "/api/v1/streams/lobby/captures"
	cases := []struct{ name, body, want string }{
		{"malformed JSON", `{"every_ms":`, "malformed JSON"},
		{"string number", `{"max_frames":"ten"}`, `field "max_frames"`},
		{"unknown field", `{"max_frame":10}`, `unknown field "max_frame"`},
		{"negative every_ms", `{"every_ms":-1}`, "every_ms: -1 is out of range"},
		{"negative chunk_frames", `{"chunk_frames":-5}`, "chunk_frames: -5 is out of range"},
		{"huge chunk_frames", `{"chunk_frames":5000}`, "chunk_frames: 5000 is out of range"},
		{"negative max_frames", `{"max_frames":-1}`, "max_frames: must not be negative"},
		{"negative duration_seconds", `{"duration_seconds":-30}`, "duration_seconds: must be a non-negative number"},
		{"negative detect_concurrency", `{"detect_concurrency":-4}`, "detect_concurrency: -4 is out of range"},
		{"min_score out of range", `{"detect":{"filter":{"min_score":1.5}}}`, "detect.filter.min_score"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.s.Handler(), http.MethodPost, path, c.body, http.StatusBadRequest, c.want)
		})
	}
	e.wantError(http.MethodPost, "/api/v1/streams/nope/captures", `{}`, http.StatusNotFound, `stream "nope" not found`)
}

func TestStartCaptureTemporalUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addStream("lobby", "/videos/lobby.avi")
	_, tc := unreachable(t)
	s := New(Deps{DB: e.db, Temporal: tc, Log: testLogger(t)})
	s.rpcTimeout = time.Second
	wantError(t, s.Handler(), http.MethodPost, "/api/v1/streams/lobby/captures", "", http.StatusServiceUnavailable,
		"temporal unavailable")

	// A recorded capture is still shown, with what went wrong asking Temporal.
	e.addCapture("capture-lobby-x", "lobby", "completed", time.Now())
	code, body := do(t, s.Handler(), http.MethodGet, "/api/v1/captures/capture-lobby-x", "")
	if code != http.StatusOK || !regexp.MustCompile(`"workflow_error":"temporal unavailable`).Match(body) {
		t.Errorf("recorded capture with Temporal down: status %d body %s", code, body)
	}
	// An unrecorded one cannot be told apart from a missing one: 503, not 404.
	wantError(t, s.Handler(), http.MethodGet, "/api/v1/captures/capture-lobby-y", "", http.StatusServiceUnavailable,
		"temporal unavailable")
}

func TestGetCaptureFromDatabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addStream("lobby", "/videos/lobby.avi")
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	// A finished capture with no workflow left in Temporal (say, past retention).
	const id = "capture-lobby-20240501T120000Z-abcd"
	e.addCapture(id, "lobby", "running", t0)
	e.exec(`UPDATE captures SET status = 'failed', finished_at = $2, frames_captured = 3, error = 'decode: bad frame' WHERE id = $1`,
		id, t0.Add(time.Minute))
	for seq := range 2 {
		e.exec(`INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms, detected_at)
			VALUES ($1, $2, 'lobby', 'k', $2 * 2, 2, 0, 1, CASE WHEN $2 = 0 THEN now() END)`, id, seq)
	}
	for f := range 3 {
		e.exec(`INSERT INTO frames (capture_id, frame_index, stream_id, chunk_seq, pts_ms, ts, width, height, detection_count, model)
			VALUES ($1, $2, 'lobby', $2 / 2, 0, $3, 640, 480, 2, 'm')`, id, f, t0)
		for d := range 2 {
			if f == 2 && d == 1 {
				break
			}
			e.exec(`INSERT INTO detections (capture_id, frame_index, det_index, stream_id, ts, class_id, class_name, score, x1, y1, x2, y2)
				VALUES ($1, $2, $3, 'lobby', $4, 0, 'person', 0.9, 0, 0, 1, 1)`, id, f, d, t0)
		}
	}

	e.exec(`INSERT INTO capture_gaps (capture_id, gap_index, started_at, ended_at, reason)
		VALUES ($1, 1, $2, NULL, 'window ended'), ($1, 0, $2, $3, 'source dropped')`, id, t0, t0.Add(10*time.Second))

	var st CaptureStatus
	e.get("/api/v1/captures/"+id, http.StatusOK, &st)
	if len(st.Gaps) != 2 || st.Gaps[0].GapIndex != 0 || st.Gaps[0].Reason != "source dropped" || st.Gaps[0].EndedAt == nil ||
		!st.Gaps[0].EndedAt.Equal(t0.Add(10*time.Second)) || st.Gaps[1].EndedAt != nil {
		t.Errorf("gaps = %+v", st.Gaps)
	}
	if st.CaptureID != id || st.StreamID != "lobby" || st.Status != "failed" || !st.Recorded ||
		st.Source != "/v.avi" || st.EveryMS == nil || *st.EveryMS != 0 || st.ChunkFrames == nil || *st.ChunkFrames != 50 ||
		st.StartedAt == nil || !st.StartedAt.Equal(t0) || st.FinishedAt == nil || !st.FinishedAt.Equal(t0.Add(time.Minute)) ||
		st.FramesCaptured != 3 || st.Error == nil || *st.Error != "decode: bad frame" {
		t.Errorf("capture = %+v", st)
	}
	if st.ChunksWritten != 2 || st.ChunksDetected != 1 || st.FramesAnalysed != 3 || st.Detections != 5 {
		t.Errorf("progress counts = chunks %d/%d frames %d detections %d, want 2/1 3 5",
			st.ChunksWritten, st.ChunksDetected, st.FramesAnalysed, st.Detections)
	}
	if st.Workflow != nil || st.WorkflowError != "" {
		t.Errorf("workflow = %+v, error %q; want none", st.Workflow, st.WorkflowError)
	}

	e.wantError(http.MethodGet, "/api/v1/captures/capture-nope", "", http.StatusNotFound, `capture "capture-nope" not found`)
}

func TestGetCaptureTerminatedWhileRunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addStream("lobby", "/videos/lobby.avi")
	got := e.startCapture("lobby", "")
	// The workflow recorded its row as running, then was terminated, which
	// skips its own bookkeeping.
	e.addCapture(got.CaptureID, "lobby", "running", time.Now())

	var st CaptureStatus
	e.get(got.StatusURL, http.StatusOK, &st)
	if st.Status != "running" || !st.Recorded || st.Workflow == nil || st.Workflow.Status != "RUNNING" {
		t.Errorf("running capture = %+v (workflow %+v)", st, st.Workflow)
	}

	if err := e.temporal.TerminateWorkflow(context.Background(), got.WorkflowID, "", "test"); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	st = CaptureStatus{}
	e.get(got.StatusURL, http.StatusOK, &st)
	if st.Status != "failed" || st.Workflow == nil || st.Workflow.Status != "TERMINATED" ||
		st.Workflow.CloseTime == nil || st.Progress != nil {
		t.Errorf("terminated capture = %+v (workflow %+v)", st, st.Workflow)
	}
}

func TestListCaptures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addStream("lobby", "/videos/lobby.avi")
	e.addStream("dock", "/videos/dock.avi")
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	e.addCapture("c-1", "lobby", "completed", t0)
	e.addCapture("c-3", "lobby", "running", t0.Add(2*time.Hour))
	e.addCapture("c-2", "lobby", "failed", t0.Add(time.Hour))
	e.addCapture("d-1", "dock", "completed", t0.Add(3*time.Hour))

	var list []Capture
	e.get("/api/v1/streams/lobby/captures", http.StatusOK, &list)
	if len(list) != 3 || list[0].ID != "c-3" || list[1].ID != "c-2" || list[2].ID != "c-1" {
		t.Fatalf("captures = %+v, want c-3, c-2, c-1", list)
	}
	if c := list[0]; c.StreamID != "lobby" || c.Status != "running" || !c.StartedAt.Equal(t0.Add(2*time.Hour)) ||
		c.ChunkFrames != 50 || c.FinishedAt != nil || c.Error != nil {
		t.Errorf("newest capture = %+v", c)
	}
	e.get("/api/v1/streams/lobby/captures?limit=2", http.StatusOK, &list)
	if len(list) != 2 || list[0].ID != "c-3" {
		t.Errorf("limit=2: %+v", list)
	}

	e.addStream("empty", "/videos/empty.avi")
	var none []Capture
	e.get("/api/v1/streams/empty/captures", http.StatusOK, &none)
	if none == nil || len(none) != 0 {
		t.Errorf("captures of a stream without any = %#v, want []", none)
	}

	e.wantError(http.MethodGet, "/api/v1/streams/nope/captures", "", http.StatusNotFound, `stream "nope" not found`)
	for _, bad := range []string{"0", "-1", "1001", "ten", "2.5"} {
		e.wantError(http.MethodGet, "/api/v1/streams/lobby/captures?limit="+bad, "", http.StatusBadRequest, "invalid limit")
	}

	// Across streams, by status and stream.
	e.exec(`INSERT INTO capture_gaps (capture_id, gap_index, started_at, reason) VALUES ('c-2', 0, $1, 'source dropped')`, t0)
	for query, want := range map[string][]string{
		"":                            {"d-1", "c-3", "c-2", "c-1"},
		"?status=completed":           {"d-1", "c-1"},
		"?status=failed":              {"c-2"},
		"?stream=dock":                {"d-1"},
		"?status=running&stream=dock": {},
		"?limit=1":                    {"d-1"},
	} {
		e.get("/api/v1/captures"+query, http.StatusOK, &list)
		var got []string
		for _, c := range list {
			got = append(got, c.ID)
			if c.Gaps != map[bool]int{true: 1}[c.ID == "c-2"] {
				t.Errorf("capture %s has %d gaps", c.ID, c.Gaps)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("GET /captures%s = %v, want %v", query, got, want)
		}
	}
	e.wantError(http.MethodGet, "/api/v1/captures?status=done", "", http.StatusBadRequest, "invalid status")
	e.wantError(http.MethodGet, "/api/v1/captures?stream=No!", "", http.StatusBadRequest, "invalid stream")
}
