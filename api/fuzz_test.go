package api

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	dbtlike "github.com/sightline-video/sightline/dbt_like"
	"github.com/sightline-video/sightline/internal/chunk"
	"github.com/sightline-video/sightline/internal/source"
	"github.com/sightline-video/sightline/internal/testenv"
)

// fuzzRoutes are the routes FuzzAPIParams sends parameters to. {id} and
// {index} are replaced by the fuzzed values. The changing routes only name
// schedules under a prefix no other test uses, and none starts a capture,
// so the fuzzer cannot disturb the shared Temporal server.
var fuzzRoutes = []struct{ method, path string }{
	{http.MethodGet, "/api/v1/streams"},
	{http.MethodGet, "/api/v1/streams/{id}"},
	{http.MethodGet, "/api/v1/streams/{id}/captures"},
	{http.MethodGet, "/api/v1/streams/{id}/objects"},
	{http.MethodGet, "/api/v1/streams/{id}/counts"},
	{http.MethodGet, "/api/v1/streams/{id}/series"},
	{http.MethodGet, "/api/v1/captures/{id}"},
	{http.MethodGet, "/api/v1/captures/{id}/frames/{index}"},
	{http.MethodGet, "/api/v1/rankings/streams"},
	{http.MethodGet, "/api/v1/rankings/streams/overall"},
	{http.MethodGet, "/api/v1/rankings/objects"},
	{http.MethodGet, "/api/v1/schedules"},
	{http.MethodGet, "/api/v1/schedules/{id}"},
	{http.MethodPost, "/api/v1/schedules/fuzz-{id}/pause"},
	{http.MethodPost, "/api/v1/schedules/fuzz-{id}/unpause"},
	{http.MethodPost, "/api/v1/schedules/fuzz-{id}/trigger"},
	{http.MethodDelete, "/api/v1/schedules/fuzz-{id}"},
}

// FuzzAPIParams sends fuzzed path and query parameters through the real
// handler, on the real database, Temporal and object store, holding a
// stream with a capture, stored frames, detections and rolled-up
// analytics, so valid parameters reach the queries. Whatever the input,
// the API must answer a 4xx or better, never a 5xx (a panic is a 500), and
// every error must be {"error": "..."}.
func FuzzAPIParams(f *testing.F) {
	for _, s := range []struct {
		route                                uint8
		id, index, limit, object, from, to   string
		bucket, minScore, classes, annotated string
		raw                                  bool
	}{
		{route: 1, id: "lobby"},
		{route: 2, id: "lobby", limit: "10"},
		{route: 4, id: "lobby", object: "person", from: "2024-05-01T12:00:00Z", to: "2024-05-02T00:00:00Z", bucket: "hour"},
		{route: 6, id: fuzzCapture},
		{route: 7, id: fuzzCapture, index: "2", annotated: "true", minScore: "0.5", classes: "person,car"},
		{route: 7, id: fuzzCapture, index: "4", annotated: "true", classes: "person\x00"},
		{route: 8, object: "person", limit: "1"},
		{route: 6, id: "%F0%9F%98%80", raw: true},
		{route: 6, id: "😀"},
		{route: 7, id: "😀", index: "0"},
		{route: 12, id: "😀"},
		{route: 6, id: strings.Repeat("x", 255)},
		{route: 6, id: strings.Repeat("x", 256)},
		{route: 7, id: strings.Repeat("c", 5000), index: "0"},
		{route: 12, id: strings.Repeat("s", 300)},
		{route: 15, id: "capture-lobby-sched-2026-01-02T03:04:05Z"},
		{route: 4, id: "lobby", object: "\xff\xfe", from: "0000-01-01T00:00:00Z", to: "9999-12-31T23:59:59.999999999Z"},
		{route: 7, id: fuzzCapture, index: "99999999999999999999", minScore: "NaN"},
		{route: 3, id: "lobby", limit: "-1"},
		{route: 1, id: "a%2Fb", raw: true},
	} {
		f.Add(s.route, s.id, s.index, s.limit, s.object, s.from, s.to, s.bucket, s.minScore, s.classes, s.annotated, s.raw)
	}

	h, logs := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, id, index, limit, object, from, to, bucket, minScore, classes, annotated string, raw bool) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		esc := url.PathEscape
		if raw {
			esc = func(s string) string { return s }
		}
		path := strings.NewReplacer("{id}", esc(id), "{index}", esc(index)).Replace(r.path)
		q := url.Values{}
		for _, p := range []struct{ k, v string }{{"limit", limit}, {"object", object}, {"from", from}, {"to", to},
			{"bucket", bucket}, {"min_score", minScore}, {"classes", classes}, {"annotated", annotated}} {
			if p.v != "" {
				q.Set(p.k, p.v)
			}
		}
		target := path
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		req, err := http.NewRequest(r.method, "http://sightline.test"+target, nil)
		if err != nil {
			return // not a URL a client could send
		}
		req.RequestURI = req.URL.RequestURI()
		logs.Reset()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		body := rec.Body.Bytes()
		ct := rec.Header().Get("Content-Type")
		switch {
		case rec.Code >= 500:
			t.Fatalf("%s %s: status %d, body %s\nlog:\n%s", r.method, target, rec.Code, body, logs)
		case rec.Code >= 400:
			var eb errorBody
			if !strings.HasPrefix(ct, "application/json") || json.Unmarshal(body, &eb) != nil || eb.Error == "" {
				t.Fatalf("%s %s: status %d, Content-Type %q, body %q: want {\"error\": ...}", r.method, target, rec.Code, ct, body)
			}
		case strings.HasPrefix(ct, "application/json"):
			if !json.Valid(body) {
				t.Fatalf("%s %s: status %d, invalid JSON %q", r.method, target, rec.Code, body)
			}
		case ct != "image/jpeg" && rec.Code != http.StatusNoContent:
			t.Fatalf("%s %s: status %d, Content-Type %q", r.method, target, rec.Code, ct)
		}
	})
}

const fuzzCapture = "capture-lobby-20240501T120000Z-abcd"

// newFuzzServer builds the server FuzzAPIParams sends requests to, and the
// buffer its log goes to.
func newFuzzServer(f *testing.F) (http.Handler, *syncBuffer) {
	pool, _ := testenv.DB(f)
	store := testenv.Store(f)
	logs := &syncBuffer{}
	s := New(Deps{DB: pool, Temporal: testenv.Temporal(f), TaskQueue: testenv.Name("fuzz"), Store: store,
		SourcePolicy: source.Unrestricted, Log: slog.New(slog.NewTextHandler(logs, nil))})
	s.probeTimeout = 500 * time.Millisecond

	ctx := context.Background()
	exec := func(sql string, args ...any) {
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			f.Fatalf("exec %s: %v", sql, err)
		}
	}
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	exec(`INSERT INTO streams (id, name, source) VALUES ('lobby', 'Lobby', '/v.avi')`)
	exec(`INSERT INTO captures (id, stream_id, status, source, chunk_frames, started_at) VALUES ($1, 'lobby', 'completed', '/v.avi', 50, $2)`,
		fuzzCapture, t0)

	// Frames 0, 2 and 4 are stored in chunk 0; 2 and 4 are analysed.
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	img.Set(10, 10, color.RGBA{255, 0, 0, 255})
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, nil); err != nil {
		f.Fatal(err)
	}
	var frames []chunk.Frame
	for _, i := range []int{0, 2, 4} {
		frames = append(frames, chunk.Frame{Index: i, PTSms: int64(i) * 40, JPEG: jb.Bytes()})
	}
	data, err := chunk.Encode(frames)
	if err != nil {
		f.Fatal(err)
	}
	key := chunk.Key("lobby", fuzzCapture, 0)
	if err := store.Put(ctx, key, data, "application/x-tar"); err != nil {
		f.Fatal(err)
	}
	exec(`INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
		VALUES ($1, 0, 'lobby', $2, 0, 3, 0, 160)`, fuzzCapture, key)
	// Chunk 1 is recorded but missing from the store.
	exec(`INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
		VALUES ($1, 1, 'lobby', 'gone.tar', 6, 2, 240, 280)`, fuzzCapture)
	exec(`INSERT INTO frames (capture_id, frame_index, stream_id, chunk_seq, pts_ms, ts, width, height, detection_count, model)
		SELECT $1, i, 'lobby', 0, i * 40, $2::timestamptz + i * interval '1 minute', 64, 48, 0, 'm' FROM unnest(ARRAY[2, 4]) i`,
		fuzzCapture, t0)
	exec(`INSERT INTO detections (capture_id, frame_index, det_index, stream_id, ts, class_id, class_name, score, x1, y1, x2, y2)
		SELECT $1, f, d, 'lobby', $2, v.id, v.cls, v.score, 5, 5, 30, 30
		FROM unnest(ARRAY[2, 4]) f, (VALUES (0, 0, 'person', 0.9), (1, 2, 'car', 0.4)) v(d, id, cls, score)`, fuzzCapture, t0)

	p, err := dbtlike.DefaultProject()
	if err != nil {
		f.Fatal(err)
	}
	if _, err := p.Run(ctx, pool, dbtlike.RunOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
		f.Fatalf("rollup: %v", err)
	}
	return s.Handler(), logs
}

// Reset empties the buffer.
func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
