package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sightline-video/sightline/internal/testenv"
	"github.com/sightline-video/sightline/workflows"
)

// apiClient talks to a `sightline dev` of the stack over HTTP.
type apiClient struct {
	t     testing.TB
	base  string
	token string
}

func (c apiClient) call(method, path, body string, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	if resp.StatusCode >= 300 {
		c.t.Logf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode
}

// must calls and fails the test unless the status is want.
func (c apiClient) must(want int, method, path, body string, out any) {
	c.t.Helper()
	if got := c.call(method, path, body, out); got != want {
		c.t.Fatalf("%s %s: status %d, want %d", method, path, got, want)
	}
}

type captureStatus struct {
	Status         string `json:"status"`
	FramesCaptured int    `json:"frames_captured"`
	ChunksWritten  int    `json:"chunks_written"`
	ChunksDetected int    `json:"chunks_detected"`
	FramesAnalysed int    `json:"frames_analysed"`
	Workflow       *struct {
		Status string `json:"status"`
	} `json:"workflow"`
}

func (c apiClient) waitCapture(id string, done func(captureStatus) bool) captureStatus {
	c.t.Helper()
	var st captureStatus
	waitFor(c.t, "capture "+id, 4*time.Minute, func() bool {
		st = captureStatus{}
		c.must(http.StatusOK, http.MethodGet, "/api/v1/captures/"+id, "", &st)
		return done(st)
	})
	return st
}

// waitHealthy waits for the API to answer /healthz with 200.
func (c apiClient) waitHealthy() {
	c.t.Helper()
	waitFor(c.t, "the API", time.Minute, func() bool {
		resp, err := http.Get(c.base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestCaptureLifecycle runs the whole lifecycle through the API of a real
// `sightline dev` with a token: cancel a running capture (its frames so far
// stay, are detected and it ends canceled), delete a capture, expire one by
// the retention policy, and delete the stream. Removing one capture leaves
// every row and object of the others as it was, and the rankings afterwards
// count exactly what is left.
func TestCaptureLifecycle(t *testing.T) {
	s := newStack(t)
	tc := testenv.Temporal(t)
	store := s.store
	addr := freeAddr(t)
	const token = "lifecycle-secret"
	s.env = append(s.env, "SIGHTLINE_API_ADDR="+addr, "SIGHTLINE_API_TOKEN="+token, "SIGHTLINE_LOG_LEVEL=warn")
	s.start("dev")
	api := apiClient{t: t, base: "http://" + addr, token: token}
	api.waitHealthy()
	video := testenv.SharedFile(t, "vtest.avi")

	// Changes need the token.
	anon := apiClient{t: t, base: api.base}
	anon.must(http.StatusUnauthorized, http.MethodPost, "/api/v1/streams", `{"id":"plaza","source":"`+video+`"}`, nil)
	api.must(http.StatusCreated, http.MethodPost, "/api/v1/streams", `{"id":"plaza","source":"`+video+`"}`, nil)

	start := func(body string) string {
		var started struct {
			CaptureID string `json:"capture_id"`
		}
		api.must(http.StatusAccepted, http.MethodPost, "/api/v1/streams/plaza/captures", body, &started)
		return started.CaptureID
	}
	completed := func(st captureStatus) bool { return st.Status == "completed" || st.Status == "failed" }
	// One after the other: their rollups would otherwise race (each retries).
	a := start(`{"max_frames": 60, "chunk_frames": 15}`)
	if st := api.waitCapture(a, completed); st.Status != "completed" || st.FramesAnalysed != 60 {
		t.Fatalf("capture a: %+v", st)
	}
	b := start(`{"max_frames": 45, "chunk_frames": 15}`)
	if st := api.waitCapture(b, completed); st.Status != "completed" || st.FramesAnalysed != 45 {
		t.Fatalf("capture b: %+v", st)
	}

	// Cancel: every frame of a live stream (it never ends by itself, so the
	// cancel cannot lose a race with the end of the source), stopped after a
	// few chunks. Complete mode, so every captured frame is detected.
	live, _ := publish(t, liveName())
	api.must(http.StatusOK, http.MethodPost, "/api/v1/streams", `{"id":"plaza","source":"`+live+`","mode":"complete"}`, nil)
	c := start(`{"chunk_frames": 10, "every_ms": 0}`)
	api.waitCapture(c, func(st captureStatus) bool { return st.ChunksWritten >= 3 })
	api.must(http.StatusAccepted, http.MethodPost, "/api/v1/captures/"+c+"/cancel", "", nil)
	st := api.waitCapture(c, func(st captureStatus) bool { return st.Workflow != nil && st.Workflow.Status != "RUNNING" })
	if st.Status != "canceled" || st.Workflow.Status != "CANCELED" {
		t.Fatalf("canceled capture: %+v, workflow %+v", st, *st.Workflow)
	}
	if st.FramesCaptured == 0 || st.FramesAnalysed != st.FramesCaptured ||
		st.ChunksDetected != st.ChunksWritten {
		t.Fatalf("a canceled capture keeps and detects what it stored: %+v", st)
	}
	api.must(http.StatusConflict, http.MethodPost, "/api/v1/captures/"+c+"/cancel", "", nil)
	// The cancel path replays deterministically (and is kept as a fixture).
	testenv.Replay(t, tc, c, "capture_canceled_history.json", workflows.CaptureWorkflow, workflows.RollupWorkflow)

	ctx := context.Background()
	objects := func(capture string) int {
		n := 0
		for o := range store.Client().ListObjects(ctx, store.Bucket(), minio.ListObjectsOptions{Prefix: "streams/plaza/captures/" + capture + "/", Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			n++
		}
		return n
	}
	snapshot := func(capture string) string {
		f, d := s.rows(capture)
		return fmt.Sprint(len(f), len(d), f, d, objects(capture))
	}
	waitRollup := func(id string) {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		if err := tc.GetWorkflow(rctx, id, "").Get(rctx, nil); err != nil {
			t.Fatalf("rollup %s: %v", id, err)
		}
	}
	// The rankings count exactly the frames and confident objects left.
	checkRankings := func() {
		t.Helper()
		frames := s.count(`SELECT count(*) FROM frames WHERE stream_id = 'plaza'`)
		ranked := s.count(`SELECT coalesce(sum(frames), 0) FROM analytics.stream_totals WHERE stream_id = 'plaza'`)
		if ranked != frames {
			t.Fatalf("stream_totals counts %d frames, the stream has %d", ranked, frames)
		}
		objects := s.count(`SELECT count(*) FROM detections WHERE stream_id = 'plaza' AND score >= 0.3`)
		rankedObjects := s.count(`SELECT coalesce(sum(objects), 0) FROM analytics.stream_object_ranking WHERE stream_id = 'plaza'`)
		if rankedObjects != objects {
			t.Fatalf("stream_object_ranking counts %d objects, the stream has %d", rankedObjects, objects)
		}
	}

	// Delete a: b and c keep every row and object.
	beforeB, beforeC := snapshot(b), snapshot(c)
	if objects(a) != 4 {
		t.Fatalf("capture a has %d chunk objects, want 4", objects(a))
	}
	var del struct {
		Removed struct {
			Captures, Frames, Chunks int
		} `json:"removed"`
		RollupWorkflowID string `json:"rollup_workflow_id"`
	}
	api.must(http.StatusOK, http.MethodDelete, "/api/v1/captures/"+a, "", &del)
	if del.Removed.Captures != 1 || del.Removed.Frames != 60 || del.Removed.Chunks != 4 {
		t.Fatalf("delete a removed %+v", del.Removed)
	}
	if n := s.count(`SELECT count(*) FROM frames WHERE capture_id = $1`, a); n != 0 || objects(a) != 0 {
		t.Fatalf("capture a left %d frames and %d objects", n, objects(a))
	}
	if snapshot(b) != beforeB || snapshot(c) != beforeC {
		t.Fatal("deleting capture a changed capture b or c")
	}
	api.must(http.StatusNotFound, http.MethodDelete, "/api/v1/captures/"+a, "", nil)
	waitRollup(del.RollupWorkflowID)
	checkRankings()

	// Retention: b's rows expire (it ended 400 days ago), c's chunks expire.
	if _, err := s.db.Exec(ctx, `UPDATE captures SET finished_at = now() - interval '400 days' WHERE id = $1`, b); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(ctx, `UPDATE chunks SET written_at = now() - interval '10 days' WHERE capture_id = $1`, c); err != nil {
		t.Fatal(err)
	}
	cFrames, cDets := s.rows(c)
	var ret struct {
		WorkflowID string `json:"workflow_id"`
	}
	api.must(http.StatusAccepted, http.MethodPost, "/api/v1/retention/run", "", &ret)
	var res struct {
		ChunksExpired   int  `json:"chunks_expired"`
		CapturesDeleted int  `json:"captures_deleted"`
		Rollup          bool `json:"rollup"`
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := tc.GetWorkflow(rctx, ret.WorkflowID, "").Get(rctx, &res); err != nil {
		t.Fatalf("retention: %v", err)
	}
	if res.CapturesDeleted != 1 || !res.Rollup || res.ChunksExpired != st.ChunksWritten {
		t.Fatalf("retention did %+v, want b deleted and c's %d chunks expired", res, st.ChunksWritten)
	}
	if n := s.count(`SELECT count(*) FROM captures WHERE id = $1`, b); n != 0 || objects(b) != 0 {
		t.Fatalf("expired capture b left %d rows, %d objects", n, objects(b))
	}
	if f, d := s.rows(c); fmt.Sprint(f, d) != fmt.Sprint(cFrames, cDets) || objects(c) != 0 {
		t.Fatalf("c's chunks expire but its rows stay: %d frames (was %d), %d objects", len(f), len(cFrames), objects(c))
	}
	api.must(http.StatusGone, http.MethodGet, "/api/v1/captures/"+c+"/frames/0", "", nil)
	checkRankings()
	// Running it again removes nothing more.
	var again struct {
		WorkflowID string `json:"workflow_id"`
	}
	api.must(http.StatusAccepted, http.MethodPost, "/api/v1/retention/run", "", &again)
	if err := tc.GetWorkflow(rctx, again.WorkflowID, "").Get(rctx, &res); err != nil || res.ChunksExpired != 0 || res.CapturesDeleted != 0 {
		t.Fatalf("second retention run: %+v, %v", res, err)
	}

	// Delete the stream: its schedule, captures and rollup rows go.
	api.must(http.StatusCreated, http.MethodPost, "/api/v1/schedules", `{"stream_id":"plaza","every":"1h","paused":true}`, nil)
	var delStream struct {
		Schedules        []string `json:"schedules"`
		RollupWorkflowID string   `json:"rollup_workflow_id"`
	}
	api.must(http.StatusOK, http.MethodDelete, "/api/v1/streams/plaza", "", &delStream)
	if len(delStream.Schedules) != 1 {
		t.Fatalf("stream delete removed schedules %v", delStream.Schedules)
	}
	waitRollup(delStream.RollupWorkflowID)
	if n := s.count(`SELECT count(*) FROM captures`) + s.count(`SELECT count(*) FROM streams`) +
		s.count(`SELECT count(*) FROM analytics.stream_totals WHERE stream_id = 'plaza'`); n != 0 {
		t.Fatalf("%d rows left after deleting the stream", n)
	}
	api.must(http.StatusNotFound, http.MethodGet, "/api/v1/streams/plaza", "", nil)
}
