package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	dbtlike "github.com/sightline-video/sightline/dbt_like"
)

// TestRollupEndpoints runs the real rollup models over a small capture and
// reads every analytics endpoint. lobby: 4 frames a minute apart with 3, 1,
// 0 and 2 people (0.9) and a car (0.2, under the threshold) in the first;
// dock: 2 frames, a truck in each and a person in the second.
func TestRollupEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	e.addLobbyAndDock(t0, time.Minute)
	e.exec(`INSERT INTO detections (capture_id, frame_index, det_index, stream_id, ts, class_id, class_name, score, x1, y1, x2, y2)
		SELECT f.capture_id, f.frame_index, row_number() OVER (PARTITION BY f.capture_id, f.frame_index) - 1, f.stream_id, f.ts,
		       0, v.cls, v.score, 0, 0, 1, 1
		FROM frames f JOIN (VALUES ('c1', 0, 3, 'person', 0.9), ('c1', 0, 1, 'car', 0.2), ('c1', 1, 1, 'person', 0.9),
			('c1', 3, 2, 'person', 0.9), ('c2', 0, 1, 'truck', 0.8), ('c2', 1, 1, 'truck', 0.8), ('c2', 1, 1, 'person', 0.7))
			v(c, i, n, cls, score) ON f.capture_id = v.c AND f.frame_index = v.i, generate_series(1, v.n)`)
	e.rollup()

	var objects []ObjectOverall
	e.get("/api/v1/rankings/objects", http.StatusOK, &objects)
	// 6 frames in all: person 6 + 1 = 7, truck 2; the low-score car is not counted.
	want := []ObjectOverall{
		{Object: "person", Streams: 2, Frames: 6, Objects: 7, AvgPerFrame: 7.0 / 6, MaxPerFrame: 3, Rank: 1},
		{Object: "truck", Streams: 1, Frames: 6, Objects: 2, AvgPerFrame: 2.0 / 6, MaxPerFrame: 1, Rank: 2},
	}
	if len(objects) != 2 || objects[0] != want[0] || objects[1] != want[1] {
		t.Errorf("objects = %+v, want %+v", objects, want)
	}
	e.get("/api/v1/rankings/objects?limit=1", http.StatusOK, &objects)
	if len(objects) != 1 {
		t.Errorf("limit=1: %+v", objects)
	}

	var streams []StreamOverall
	e.get("/api/v1/rankings/streams/overall", http.StatusOK, &streams)
	// dock: 3 objects over 2 frames = 1.5; lobby: 6 over 4 = 1.5: a tie, by id.
	if len(streams) != 2 || streams[0].StreamID != "dock" || streams[0].AvgPerFrame != 1.5 || *streams[0].TopObject != "truck" ||
		streams[1].StreamID != "lobby" || streams[1].StreamName != "Stream lobby" || streams[1].Objects != 6 ||
		*streams[1].TopObjectAvgPerFrame != 1.5 || streams[1].Rank != 2 {
		t.Errorf("streams overall = %+v", streams)
	}

	var series []Series
	e.get("/api/v1/streams/lobby/series", http.StatusOK, &series)
	if len(series) != 1 || series[0].Object != "person" || len(series[0].Buckets) != 4 || !series[0].Buckets[0].Equal(t0) ||
		!equal(series[0].Objects, []int64{3, 1, 0, 2}) || !equal(series[0].AvgPerFrame, []float64{3, 1, 0, 2}) ||
		!equal(series[0].Frames, []int64{1, 1, 1, 1}) {
		t.Errorf("lobby series = %+v", series)
	}
	e.get("/api/v1/streams/dock/series", http.StatusOK, &series)
	if len(series) != 2 || series[0].Object != "truck" || !equal(series[1].Objects, []int64{0, 1}) {
		t.Errorf("dock series = %+v", series)
	}
	e.wantError(http.MethodGet, "/api/v1/streams/nope/series", "", http.StatusNotFound, `stream "nope" not found`)

	// Buckets, ranges, objects and downsampling.
	e.get("/api/v1/streams/lobby/series?bucket=hour", http.StatusOK, &series)
	if len(series) != 1 || series[0].BucketSeconds != 3600 || len(series[0].Buckets) != 1 || !series[0].Buckets[0].Equal(t0) ||
		!equal(series[0].Objects, []int64{6}) || !equal(series[0].Frames, []int64{4}) ||
		!equal(series[0].AvgPerFrame, []float64{1.5}) || !equal(series[0].MaxPerFrame, []int64{3}) {
		t.Errorf("lobby hourly series = %+v", series)
	}
	// The default day of minutes is 1440 buckets: 2 points make them 12 hours each.
	e.get("/api/v1/streams/lobby/series?points=2", http.StatusOK, &series)
	if len(series) != 1 || series[0].BucketSeconds != 12*3600 || !equal(series[0].Objects, []int64{6}) {
		t.Errorf("lobby series in 2 points = %+v", series)
	}
	from, to := t0.Add(time.Minute).Format(time.RFC3339), t0.Add(3*time.Minute).Format(time.RFC3339)
	e.get("/api/v1/streams/lobby/series?from="+from+"&to="+to, http.StatusOK, &series)
	if len(series) != 1 || series[0].BucketSeconds != 60 || !equal(series[0].Objects, []int64{1, 0}) ||
		!series[0].Buckets[0].Equal(t0.Add(time.Minute)) {
		t.Errorf("lobby series from %s to %s = %+v", from, to, series)
	}
	// Objects asked for by name, in that order; one never counted is all zeros.
	e.get("/api/v1/streams/lobby/series?objects=car,person", http.StatusOK, &series)
	if len(series) != 2 || series[0].Object != "car" || series[0].Rank != 0 || !equal(series[0].Objects, []int64{0, 0, 0, 0}) ||
		series[1].Object != "person" || series[1].Rank != 1 {
		t.Errorf("lobby series of car and person = %+v", series)
	}
	e.get("/api/v1/streams/lobby/series?top=1&to="+t0.Add(-time.Hour).Format(time.RFC3339), http.StatusOK, &series)
	if len(series) != 0 {
		t.Errorf("lobby series before its data = %+v, want none", series)
	}
	for query, msg := range map[string]string{
		"bucket=week":                "invalid bucket",
		"points=1":                   "invalid points",
		"top=0":                      "invalid top",
		"objects=,person":            "invalid objects",
		"from=" + to + "&to=" + from: "invalid time range",
		"to=yesterday":               "invalid to",
	} {
		e.wantError(http.MethodGet, "/api/v1/streams/lobby/series?"+query, "", http.StatusBadRequest, msg)
	}

	// The existing endpoints read the same rollup.
	var ranks []StreamRank
	e.get("/api/v1/rankings/streams?object=person", http.StatusOK, &ranks)
	if len(ranks) != 2 || ranks[0].StreamID != "lobby" || ranks[0].AvgPerFrame != 1.5 || ranks[1].AvgPerFrame != 0.5 {
		t.Errorf("person ranking = %+v", ranks)
	}
	var counts []CountPoint
	e.get("/api/v1/streams/lobby/counts?object=person", http.StatusOK, &counts)
	if len(counts) != 3 { // the empty minute has no row
		t.Errorf("lobby person counts = %+v", counts)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTrackingEndpoints runs the real rollup over tracking rows and reads
// the tracking endpoints: lobby has 3 persons (tracks 1 and 2 in the first
// minute, 3 in the second) of which 1 and 3 crossed "door" in and 2 out,
// and person 1 stood 30 s in "desk"; dock has one person and no crossing.
func TestTrackingEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	e.addLobbyAndDock(t0, 30*time.Second)
	e.exec(`INSERT INTO detections (capture_id, frame_index, det_index, stream_id, ts, class_id, class_name, score, x1, y1, x2, y2, track_id)
		SELECT capture_id, frame_index, 0, stream_id, ts, 0, 'person', 0.9, 0, 0, 1, 1, CASE WHEN frame_index < 2 THEN 1 ELSE 3 END
		FROM frames`)
	e.exec(`INSERT INTO tracks (capture_id, track_id, stream_id, class_name, first_frame, last_frame, first_ts, last_ts, frames_seen, zones) VALUES
		('c1', 1, 'lobby', 'person', 0, 1, $1, $1::timestamptz + interval '30 s', 2, '{desk}'),
		('c1', 2, 'lobby', 'person', 1, 1, $1::timestamptz + interval '30 s', $1::timestamptz + interval '30 s', 0, '{}'),
		('c1', 3, 'lobby', 'person', 2, 3, $1::timestamptz + interval '60 s', $1::timestamptz + interval '90 s', 2, '{}'),
		('c2', 1, 'dock', 'person', 0, 1, $1, $1::timestamptz + interval '30 s', 2, '{}')`, t0)
	// Track 2 has no detection rows left; the data test would flag a
	// mismatch only for detections, so frames_seen 0 stands.
	e.exec(`INSERT INTO crossings (capture_id, line, track_id, direction, stream_id, class_name, frame_index, ts) VALUES
		('c1', 'door', 1, 'in', 'lobby', 'person', 1, $1::timestamptz + interval '30 s'),
		('c1', 'door', 2, 'out', 'lobby', 'person', 1, $1::timestamptz + interval '30 s'),
		('c1', 'door', 3, 'in', 'lobby', 'person', 3, $1::timestamptz + interval '90 s')`, t0)
	e.exec(`INSERT INTO zone_visits (capture_id, zone, track_id, enter_frame, stream_id, class_name, enter_ts, exit_frame, exit_ts, dwell_ms)
		VALUES ('c1', 'desk', 1, 0, 'lobby', 'person', $1, 1, $1::timestamptz + interval '30 s', 30000)`, t0)
	e.exec(`INSERT INTO zone_occupancy (capture_id, frame_index, zone, class_name, stream_id, ts, count) VALUES
		('c1', 0, 'desk', 'person', 'lobby', $1, 1), ('c1', 1, 'desk', 'person', 'lobby', $1::timestamptz + interval '30 s', 1)`, t0)
	e.rollup()

	var tracks []Track
	e.get("/api/v1/streams/lobby/tracks?capture=c1", http.StatusOK, &tracks)
	if len(tracks) != 3 || tracks[0].TrackID != 3 || tracks[2].Zones[0] != "desk" {
		t.Errorf("tracks = %+v", tracks)
	}
	var unique []UniquePoint
	e.get("/api/v1/streams/lobby/unique?object=person", http.StatusOK, &unique)
	if len(unique) != 2 || unique[0].Tracks != 2 || unique[1].Tracks != 1 || !unique[0].Bucket.Equal(t0) {
		t.Errorf("unique = %+v", unique)
	}
	var crossings []CrossingPoint
	e.get("/api/v1/streams/lobby/crossings?line=door", http.StatusOK, &crossings)
	if len(crossings) != 3 || crossings[0].Direction != "in" || crossings[1].Direction != "out" || crossings[2].Crossings != 1 {
		t.Errorf("crossings = %+v", crossings)
	}
	e.get("/api/v1/streams/lobby/crossings?line=gate", http.StatusOK, &crossings)
	if len(crossings) != 0 {
		t.Errorf("crossings of a line that counted nothing = %+v", crossings)
	}
	var zones []ZonePoint
	e.get("/api/v1/streams/lobby/zones?zone=desk", http.StatusOK, &zones)
	// Minute 12:00 has 2 frames, both with one person at the desk; the visit ended in it.
	if len(zones) != 1 || zones[0].AvgOccupancy != 1 || zones[0].MaxOccupancy != 1 || zones[0].Visits != 1 || zones[0].AvgDwellS != 30 {
		t.Errorf("zones = %+v", zones)
	}
	var ranks []StreamRank
	e.get("/api/v1/rankings/streams?object=person&by=unique", http.StatusOK, &ranks)
	if len(ranks) != 2 || ranks[0].StreamID != "lobby" || ranks[0].UniqueObjects != 3 || ranks[1].UniqueObjects != 1 || ranks[1].Rank != 2 {
		t.Errorf("ranking by unique = %+v", ranks)
	}
	var objects []ObjectRank
	e.get("/api/v1/streams/dock/objects", http.StatusOK, &objects)
	if len(objects) != 1 || objects[0].UniqueObjects != 1 {
		t.Errorf("dock's objects = %+v", objects)
	}
	e.wantError(http.MethodGet, "/api/v1/rankings/streams?object=person&by=loudest", "", http.StatusBadRequest, "invalid by")
	e.wantError(http.MethodGet, "/api/v1/streams/lobby/zones?from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z", "", http.StatusBadRequest, "invalid time range")
}

// addLobbyAndDock registers the streams lobby and dock, each with a
// completed capture from t0 (c1 and c2) of one chunk: 4 frames of lobby and
// 2 of dock, every apart.
func (e *env) addLobbyAndDock(t0 time.Time, every time.Duration) {
	e.addStream("lobby", "/videos/lobby.avi")
	e.addStream("dock", "/videos/dock.avi")
	e.addCapture("c1", "lobby", "completed", t0)
	e.addCapture("c2", "dock", "completed", t0)
	e.exec(`INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
		VALUES ('c1', 0, 'lobby', 'k', 0, 4, 0, 1), ('c2', 0, 'dock', 'k', 0, 2, 0, 1)`)
	e.exec(`INSERT INTO frames (capture_id, frame_index, stream_id, chunk_seq, pts_ms, ts, width, height, detection_count, model)
		SELECT c, i, s, 0, i * $2::bigint, $1::timestamptz + i * ($2::bigint * interval '1 millisecond'), 640, 480, 0, 'm'
		FROM (VALUES ('c1', 'lobby', 4), ('c2', 'dock', 2)) v(c, s, n), generate_series(0, n - 1) i`, t0, every.Milliseconds())
}

// rollup runs the real rollup models.
func (e *env) rollup() {
	e.t.Helper()
	p, err := dbtlike.DefaultProject()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := p.Run(context.Background(), e.db, dbtlike.RunOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
		e.t.Fatal(err)
	}
}
