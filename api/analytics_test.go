package api

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// createAnalytics creates the rollup's tables by hand, as the rollup would.
func (e *env) createAnalytics() {
	e.t.Helper()
	e.exec(`
CREATE TABLE analytics.stream_object_ranking (stream_id text, object text, frames bigint, objects bigint,
    avg_per_frame double precision, max_per_frame int, rank bigint);
CREATE TABLE analytics.object_stream_ranking (object text, stream_id text, stream_name text, frames bigint,
    objects bigint, avg_per_frame double precision, max_per_frame bigint, rank bigint);
CREATE TABLE analytics.object_counts (stream_id text, object text, bucket timestamptz, frames bigint,
    objects bigint, avg_per_frame double precision, max_per_frame int);`)
}

func TestAnalyticsBeforeAnyRollup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addStream("lobby", "/videos/lobby.avi")
	for _, path := range []string{
		"/api/v1/rankings/streams?object=person",
		"/api/v1/streams/lobby/objects",
		"/api/v1/streams/lobby/counts",
		"/api/v1/streams/lobby/series",
		"/api/v1/rankings/objects",
		"/api/v1/rankings/streams/overall",
	} {
		code, body := e.do(http.MethodGet, path, "")
		if code != http.StatusOK || string(body) != "[]\n" {
			t.Errorf("GET %s without analytics tables: status %d body %q, want 200 []", path, code, body)
		}
	}
	// Even without the schema.
	e.exec(`DROP SCHEMA analytics`)
	code, body := e.do(http.MethodGet, "/api/v1/streams/lobby/objects", "")
	if code != http.StatusOK || string(body) != "[]\n" {
		t.Errorf("objects without the analytics schema: status %d body %q", code, body)
	}
}

func TestRankStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createAnalytics()
	e.exec(`INSERT INTO analytics.object_stream_ranking VALUES
  ('person', 'dock', 'Dock', 100, 50, 0.5, 3, 2),
  ('person', 'lobby', 'Lobby', 100, 250, 2.5, 7, 1),
  ('person', 'yard', NULL, 10, 1, 0.1, 1, 3),
  ('car', 'yard', 'Yard', 10, 30, 3.0, 4, 1)`)

	var got []StreamRank
	e.get("/api/v1/rankings/streams?object=person", http.StatusOK, &got)
	want := []StreamRank{
		{Object: "person", StreamID: "lobby", StreamName: "Lobby", Frames: 100, Objects: 250, AvgPerFrame: 2.5, MaxPerFrame: 7, Rank: 1},
		{Object: "person", StreamID: "dock", StreamName: "Dock", Frames: 100, Objects: 50, AvgPerFrame: 0.5, MaxPerFrame: 3, Rank: 2},
		{Object: "person", StreamID: "yard", StreamName: "yard", Frames: 10, Objects: 1, AvgPerFrame: 0.1, MaxPerFrame: 1, Rank: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("ranking = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ranking[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	e.get("/api/v1/rankings/streams?object=person&limit=1", http.StatusOK, &got)
	if len(got) != 1 || got[0].StreamID != "lobby" {
		t.Errorf("limit=1: %+v", got)
	}
	e.get("/api/v1/rankings/streams?object=unicorn", http.StatusOK, &got)
	if len(got) != 0 {
		t.Errorf("unknown object: %+v, want []", got)
	}

	e.wantError(http.MethodGet, "/api/v1/rankings/streams", "", http.StatusBadRequest, "object is required")
	e.wantError(http.MethodGet, "/api/v1/rankings/streams?object=", "", http.StatusBadRequest, "object is required")
	for _, bad := range []string{"0", "-3", "1001", "x"} {
		e.wantError(http.MethodGet, "/api/v1/rankings/streams?object=person&limit="+bad, "", http.StatusBadRequest, "invalid limit")
	}
}

func TestStreamObjects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addStream("lobby", "/videos/lobby.avi")
	e.createAnalytics()
	e.exec(`INSERT INTO analytics.stream_object_ranking VALUES
  ('lobby', 'chair', 100, 120, 1.2, 4, 2),
  ('lobby', 'person', 100, 250, 2.5, 7, 1),
  ('lobby', 'dog', 100, 1, 0.01, 1, 3),
  ('dock', 'truck', 10, 30, 3.0, 4, 1)`)

	var got []ObjectRank
	e.get("/api/v1/streams/lobby/objects", http.StatusOK, &got)
	if len(got) != 3 || got[0] != (ObjectRank{Object: "person", Frames: 100, Objects: 250, AvgPerFrame: 2.5, MaxPerFrame: 7, Rank: 1}) ||
		got[1].Object != "chair" || got[2].Object != "dog" {
		t.Errorf("objects = %+v, want person, chair, dog", got)
	}
	e.get("/api/v1/streams/lobby/objects?limit=2", http.StatusOK, &got)
	if len(got) != 2 {
		t.Errorf("limit=2: %+v", got)
	}
	// A registered stream without rollup rows yet has no objects.
	e.addStream("dock", "/videos/dock.avi")
	e.addStream("yard", "/videos/yard.avi")
	e.get("/api/v1/streams/yard/objects", http.StatusOK, &got)
	if len(got) != 0 {
		t.Errorf("objects of a stream without data = %+v, want []", got)
	}

	e.wantError(http.MethodGet, "/api/v1/streams/nope/objects", "", http.StatusNotFound, `stream "nope" not found`)
	e.wantError(http.MethodGet, "/api/v1/streams/lobby/objects?limit=5000", "", http.StatusBadRequest, "invalid limit")
}

func TestStreamCounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addStream("lobby", "/videos/lobby.avi")
	e.createAnalytics()
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		b := t0.Add(time.Duration(2-i) * time.Minute) // inserted out of order
		e.exec(`INSERT INTO analytics.object_counts VALUES ('lobby', 'person', $1, 60, $2::bigint, $2::bigint / 60.0, 3),
			('lobby', 'car', $1, 60, 6, 0.1, 1), ('dock', 'person', $1, 60, 9, 0.15, 1)`, b, 60*(2-i))
	}

	var got []CountPoint
	e.get("/api/v1/streams/lobby/counts?object=person", http.StatusOK, &got)
	if len(got) != 3 {
		t.Fatalf("person counts = %+v, want 3 buckets", got)
	}
	for i, p := range got {
		if p.Object != "person" || !p.Bucket.Equal(t0.Add(time.Duration(i)*time.Minute)) || p.Frames != 60 ||
			p.Objects != int64(60*i) || p.AvgPerFrame != float64(i) || p.MaxPerFrame != 3 {
			t.Errorf("counts[%d] = %+v", i, p)
		}
	}

	// All objects, ordered by bucket then object.
	e.get("/api/v1/streams/lobby/counts", http.StatusOK, &got)
	if len(got) != 6 || got[0].Object != "car" || got[1].Object != "person" || !got[0].Bucket.Equal(t0) ||
		!got[5].Bucket.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("all counts = %+v", got)
	}

	// from is inclusive, to exclusive; offsets are understood.
	q := url.Values{"object": {"person"}, "from": {"2024-05-01T14:01:00+02:00"}, "to": {t0.Add(2 * time.Minute).Format(time.RFC3339)}}
	e.get("/api/v1/streams/lobby/counts?"+q.Encode(), http.StatusOK, &got)
	if len(got) != 1 || !got[0].Bucket.Equal(t0.Add(time.Minute)) {
		t.Errorf("counts from 12:01 to 12:02 = %+v, want the 12:01 bucket", got)
	}
	e.get("/api/v1/streams/lobby/counts?from=2024-05-01T12:01:30.5Z", http.StatusOK, &got)
	if len(got) != 2 {
		t.Errorf("counts from 12:01:30.5 = %+v, want the two 12:02 rows", got)
	}

	e.wantError(http.MethodGet, "/api/v1/streams/lobby/counts?from=yesterday", "", http.StatusBadRequest, `invalid from "yesterday"`)
	e.wantError(http.MethodGet, "/api/v1/streams/lobby/counts?to=2024-05-01", "", http.StatusBadRequest, `invalid to "2024-05-01"`)
	e.wantError(http.MethodGet, "/api/v1/streams/lobby/counts?from=2024-05-01T12:00:00Z&to=2024-05-01T11:00:00Z", "",
		http.StatusBadRequest, "to (2024-05-01T11:00:00Z) is before from")
	e.wantError(http.MethodGet, "/api/v1/streams/nope/counts", "", http.StatusNotFound, `stream "nope" not found`)
}
