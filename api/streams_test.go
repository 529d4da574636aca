package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sightline-video/sightline/internal/source"
)

func TestStreamsCreateUpdateGetList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	var empty []Stream
	e.get("/api/v1/streams", http.StatusOK, &empty)
	if empty == nil || len(empty) != 0 {
		t.Fatalf("streams before any = %#v, want []", empty)
	}

	code, body := e.do(http.MethodPost, "/api/v1/streams",
		`{"id":"lobby","name":"Lobby","source":"/videos/lobby.avi","metadata":{"floor":1}}`)
	if code != http.StatusCreated {
		t.Fatalf("create: status %d body %s", code, body)
	}
	var created Stream
	e.get("/api/v1/streams/lobby", http.StatusOK, &created)
	if created.ID != "lobby" || created.Name != "Lobby" || created.Source != "/videos/lobby.avi" ||
		string(created.Metadata) != `{"floor":1}` || created.CreatedAt.IsZero() || created.LastCapture != nil {
		t.Errorf("created stream = %+v (metadata %s)", created, created.Metadata)
	}

	// The same id again updates in place: 200, new fields, same created_at.
	var updated Stream
	e.expect(http.MethodPost, "/api/v1/streams", `{"id":"lobby","name":"Front lobby","source":"rtsp://cam/1"}`,
		http.StatusOK, &updated)
	if updated.Name != "Front lobby" || updated.Source != "rtsp://cam/1" || string(updated.Metadata) != `{}` ||
		!updated.CreatedAt.Equal(created.CreatedAt) || !updated.UpdatedAt.After(created.UpdatedAt) {
		t.Errorf("updated stream = %+v (metadata %s), created %+v", updated, updated.Metadata, created)
	}

	// Name defaults to the id.
	var dock Stream
	e.expect(http.MethodPost, "/api/v1/streams", `{"id":"dock_2","source":"/videos/dock.avi"}`, http.StatusCreated, &dock)
	if dock.Name != "dock_2" {
		t.Errorf("name without a name = %q, want the id", dock.Name)
	}

	// The list is ordered by id and shows each stream's newest capture.
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	e.addCapture("capture-lobby-old", "lobby", "completed", t0)
	e.addCapture("capture-lobby-new", "lobby", "running", t0.Add(time.Hour))
	var list []Stream
	e.get("/api/v1/streams", http.StatusOK, &list)
	if len(list) != 2 || list[0].ID != "dock_2" || list[1].ID != "lobby" {
		t.Fatalf("streams = %+v, want dock_2 then lobby", list)
	}
	if list[0].LastCapture != nil {
		t.Errorf("dock_2 last_capture = %+v, want none", list[0].LastCapture)
	}
	if lc := list[1].LastCapture; lc == nil || lc.ID != "capture-lobby-new" || lc.Status != "running" ||
		!lc.StartedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("lobby last_capture = %+v, want capture-lobby-new", lc)
	}
}

func TestStreamsBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const path = "/api/v1/streams"
	cases := []struct {
		name, body, want string
	}{
		{"malformed JSON", `{"id":"lobby",`, "malformed JSON"},
		{"not an object", `["lobby"]`, "malformed JSON"},
		{"wrong type", `{"id":7,"source":"/v.avi"}`, `field "id"`},
		{"unknown field", `{"id":"lobby","source":"/v.avi","sauce":"x"}`, `unknown field "sauce"`},
		{"trailing data", `{"id":"lobby","source":"/v.avi"} {}`, "after the JSON object"},
		{"empty body", ``, "body is empty"},
		{"missing id", `{"source":"/v.avi"}`, "id is required"},
		{"upper-case id", `{"id":"Lobby","source":"/v.avi"}`, `invalid id "Lobby"`},
		{"id with space", `{"id":"the lobby","source":"/v.avi"}`, "invalid id"},
		{"id starting with dash", `{"id":"-lobby","source":"/v.avi"}`, "invalid id"},
		{"id too long", `{"id":"` + strings.Repeat("a", 64) + `","source":"/v.avi"}`, "invalid id"},
		{"missing source", `{"id":"lobby"}`, "source is required"},
		{"blank source", `{"id":"lobby","source":"  "}`, "source is required"},
		{"metadata not an object", `{"id":"lobby","source":"/v.avi","metadata":[1]}`, "metadata must be a JSON object"},
		{"unknown model", `{"id":"lobby","source":"/v.avi","detect":{"model":"yolo9000"}}`, `unknown model "yolo9000"`},
		{"unknown class", `{"id":"lobby","source":"/v.avi","detect":{"filter":{"classes":["unicorn"]}}}`, `unknown class "unicorn"`},
		{"bad threshold", `{"id":"lobby","source":"/v.avi","detect":{"filter":{"class_min_score":{"person":2}}}}`, "out of range"},
		{"degenerate line", `{"id":"lobby","source":"/v.avi","tracking":{"lines":[{"name":"a","from":[5,5],"to":[5,5]}]}}`, "tracking:"},
		{"point not a pair", `{"id":"lobby","source":"/v.avi","tracking":{"lines":[{"name":"a","from":[5],"to":[5,9]}]}}`, "[x, y]"},
		{"self-crossing zone", `{"id":"lobby","source":"/v.avi","tracking":{"zones":[{"name":"z","points":[[0,0],[9,9],[9,0],[0,9]]}]}}`, "tracking:"},
		{"tracker threshold", `{"id":"lobby","source":"/v.avi","tracking":{"tracker":{"high_score":1.5}}}`, "high_score"},
		{"unknown tracking field", `{"id":"lobby","source":"/v.avi","tracking":{"linez":[]}}`, "linez"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.s.Handler(), http.MethodPost, path, c.body, http.StatusBadRequest, c.want)
		})
	}
	// The longest valid id is accepted.
	e.expect(http.MethodPost, path, `{"id":"`+strings.Repeat("a", 63)+`","source":"/v.avi"}`, http.StatusCreated, nil)

	var list []Stream
	e.get(path, http.StatusOK, &list)
	if len(list) != 1 {
		t.Errorf("after bad requests %d streams exist, want only the valid one", len(list))
	}
}

func TestStreamNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.wantError(http.MethodGet, "/api/v1/streams/nope", "", http.StatusNotFound, `stream "nope" not found`)
	e.wantError(http.MethodGet, "/api/v1/streams/NOT-VALID", "", http.StatusNotFound, "not found")
}

func TestStreamSourcePolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Sources that can never be read are refused whatever the policy.
	e.wantError(http.MethodPost, "/api/v1/streams", `{"id":"ftp","source":"ftp://example.com/v.mp4"}`,
		http.StatusBadRequest, "invalid source")
	e.wantError(http.MethodPost, "/api/v1/streams", `{"id":"yt","source":"https://www.youtube.com/watch"}`,
		http.StatusBadRequest, "invalid source")

	// An exposed API refuses local files and private or loopback hosts.
	e.s.sourcePolicy = source.Policy{}
	for _, src := range []string{"/etc/passwd", "rtsp://127.0.0.1:554/cam", "http://10.1.2.3/live.m3u8", "rtmp://[::1]/live/x"} {
		e.wantError(http.MethodPost, "/api/v1/streams", `{"id":"blocked","source":"`+src+`"}`,
			http.StatusForbidden, "not allowed")
	}
}

// TestStreamDetectSettings: a stream keeps its model and class filter, and
// a capture request may override them (checked the same way).
func TestStreamDetectSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var st Stream
	e.expect(http.MethodPost, "/api/v1/streams", `{"id":"gate","source":"/v.avi","detect":{"model":"picodet_s_416_coco",
		"filter":{"classes":["person","car"],"class_min_score":{"person":0.6}}}}`, http.StatusCreated, &st)
	if st.Detect.Model != "picodet_s_416_coco" || st.Detect.Filter == nil || len(st.Detect.Filter.Classes) != 2 ||
		st.Detect.Filter.ClassMinScore["person"] != 0.6 {
		t.Fatalf("stored detect settings %+v", st.Detect)
	}
	var got Stream
	e.get("/api/v1/streams/gate", http.StatusOK, &got)
	if got.Detect.Model != "picodet_s_416_coco" || got.Detect.Filter.ClassMinScore["person"] != 0.6 {
		t.Fatalf("read back %+v", got.Detect)
	}
	e.wantError(http.MethodPost, "/api/v1/streams/gate/captures", `{"detect":{"filter":{"classes":["dragon"]}}}`,
		http.StatusBadRequest, `unknown class "dragon"`)
}

func TestStreamTrackingSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var st Stream
	e.expect(http.MethodPost, "/api/v1/streams", `{"id":"gate","source":"/v.avi","tracking":{"tracker":{"max_lost":60},
		"lines":[{"name":"door","from":[0,300],"to":[640,300]}],"zones":[{"name":"desk","points":[[10,10],[100,10],[100,90]]}],
		"debounce_frames":3}}`, http.StatusCreated, &st)
	var got Stream
	e.get("/api/v1/streams/gate", http.StatusOK, &got)
	tr := got.Tracking
	if tr.Tracker.MaxLost != 60 || len(tr.Lines) != 1 || tr.Lines[0].To.X != 640 || len(tr.Zones) != 1 || tr.Debounce != 3 {
		t.Fatalf("read back %+v", tr)
	}
	e.wantError(http.MethodPost, "/api/v1/streams/gate/captures", `{"tracking":{"lines":[{"name":"x","from":[1,1],"to":[1,1]}]}}`,
		http.StatusBadRequest, "tracking")
}
