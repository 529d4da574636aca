package api

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one event as a client parses it off the wire.
type sseEvent struct {
	id    string
	event string
	data  Event
}

// subscribe opens GET path and returns the events as they arrive, and a
// channel closed when the stream ends.
func subscribe(t *testing.T, base, path, lastID string) (<-chan sseEvent, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %s %s", path, resp.Status, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 100)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data)
			case line == "" && ev.id != "":
				out <- ev
				ev = sseEvent{}
			}
		}
	}()
	return out, resp
}

// next returns the next event, which must be of type want; position blocks
// (an id with no event) are skipped.
func next(t *testing.T, ch <-chan sseEvent, want string) sseEvent {
	t.Helper()
	for {
		ev := block(t, ch, want)
		if ev.event == "" {
			continue
		}
		if ev.event != want || ev.data.Type != want || ev.id != strconv.FormatInt(ev.data.ID, 10) {
			t.Fatalf("event %+v, want %s", ev, want)
		}
		return ev
	}
}

func block(t *testing.T, ch <-chan sseEvent, want string) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatalf("stream ended, want %s", want)
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s event", want)
	}
	return sseEvent{}
}

func TestEventsStreamWhatThePipelineRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := httptest.NewServer(e.s.Handler())
	t.Cleanup(srv.Close)
	e.addStream("plaza", "/v.avi")
	e.addStream("other", "/v.avi")

	// Without a last id, only new events: the capture below comes after.
	// The stream first says where it starts: a client that drops before any
	// event resumes from there. This one drops at once and misses nothing.
	live, _ := subscribe(t, srv.URL, "/api/v1/events?stream=plaza", "")
	dropped, droppedResp := subscribe(t, srv.URL, "/api/v1/events?stream=plaza", "")
	pos := block(t, dropped, "the starting position")
	droppedResp.Body.Close()
	if pos.event != "" || pos.id != "0" {
		t.Fatalf("first block %+v, want the position 0 and no event", pos)
	}
	if block(t, live, "the starting position").event != "" {
		t.Fatal("the live stream does not start with its position")
	}
	e.addCapture("cap-1", "plaza", "running", time.Now())
	e.addCapture("cap-2", "other", "running", time.Now())
	e.exec(`UPDATE captures SET frames_captured = 10 WHERE id = 'cap-1'`)
	e.exec(`INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
		VALUES ('cap-1', 0, 'plaza', 'k', 0, 10, 0, 400)`)
	e.exec(`UPDATE chunks SET detected_at = now() WHERE capture_id = 'cap-1'`)
	e.exec(`UPDATE captures SET status = 'completed', finished_at = now() WHERE id = 'cap-1'`)

	started := next(t, live, "capture.started")
	if started.data.CaptureID != "cap-1" || started.data.StreamID != "plaza" {
		t.Errorf("started: %+v", started.data)
	}
	progress := next(t, live, "capture.progress")
	var p struct {
		FramesCaptured int `json:"frames_captured"`
	}
	if json.Unmarshal(progress.data.Data, &p); p.FramesCaptured != 10 {
		t.Errorf("progress: %s", progress.data.Data)
	}
	detected := next(t, live, "chunk.detected")
	var d struct {
		Seq, Frames, Detections int
	}
	if json.Unmarshal(detected.data.Data, &d); d.Frames != 10 {
		t.Errorf("chunk.detected: %s", detected.data.Data)
	}
	finished := next(t, live, "capture.finished")
	if !strings.Contains(string(finished.data.Data), `"completed"`) {
		t.Errorf("finished: %s", finished.data.Data)
	}

	resumed, _ := subscribe(t, srv.URL, "/api/v1/events?stream=plaza", pos.id)
	if ev := next(t, resumed, "capture.started"); ev.id != started.id {
		t.Errorf("resumed from the position at %s, want %s", ev.id, started.id)
	}

	// Reconnecting with Last-Event-ID resumes right after it.
	again, _ := subscribe(t, srv.URL, "/api/v1/events?capture=cap-1", progress.id)
	if ev := next(t, again, "chunk.detected"); ev.id != detected.id {
		t.Errorf("resumed at %s, want %s", ev.id, detected.id)
	}
	next(t, again, "capture.finished")
	// The other stream's capture shows only unfiltered.
	all, _ := subscribe(t, srv.URL, "/api/v1/events?last_event_id=0", "")
	seen := map[string]bool{}
	for _, want := range []string{"capture.started", "capture.started", "capture.progress", "chunk.detected", "capture.finished"} {
		seen[next(t, all, want).data.CaptureID] = true
	}
	if !seen["cap-1"] || !seen["cap-2"] {
		t.Errorf("unfiltered stream saw %v", seen)
	}

	// A finished rollup reaches every stream, filtered or not.
	e.exec(`INSERT INTO events (type, stream_id, capture_id, data) VALUES ('rollup.finished', '', '', '{"tests": 3}')`)
	next(t, again, "rollup.finished")
	next(t, live, "rollup.finished")

	// Shutting down ends the streams.
	e.s.stopOnce()
	select {
	case _, ok := <-live:
		for ok {
			_, ok = <-live
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end at shutdown")
	}

	for _, q := range []string{"?last_event_id=-1", "?last_event_id=x", "?stream=Bad", "?capture=%F0%9F%98%80"} {
		e.wantError(http.MethodGet, "/api/v1/events"+q, "", http.StatusBadRequest, "invalid")
	}
}
