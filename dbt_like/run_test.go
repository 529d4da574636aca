package dbtlike

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sightline-video/sightline/internal/testenv"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixDet struct {
	class string
	score float32
}

type fixFrame struct {
	ts   string // HH:MM:SS on 2024-05-01, UTC
	dets []fixDet
}

// insertCapture records a stream (if new), one capture with one chunk, and
// its frames and detections.
func insertCapture(t *testing.T, pool *pgxpool.Pool, streamID, streamName, captureID string, firstFrame int, frames []fixFrame) {
	t.Helper()
	ctx := context.Background()
	ts := func(hms string) time.Time {
		v, err := time.Parse(time.RFC3339, "2024-05-01T"+hms+"Z")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("fixture %s: %v", sql, err)
		}
	}
	exec(`INSERT INTO streams (id, name, source) VALUES ($1, $2, 'file:///fixture.mp4') ON CONFLICT DO NOTHING`, streamID, streamName)
	exec(`INSERT INTO captures (id, stream_id, source, chunk_frames, started_at) VALUES ($1, $2, 'file:///fixture.mp4', 8, $3)
		ON CONFLICT DO NOTHING`, captureID, streamID, ts(frames[0].ts))
	exec(`INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
		VALUES ($1, 0, $2, 'k', 0, 8, 0, 1000) ON CONFLICT DO NOTHING`, captureID, streamID)
	for i, f := range frames {
		idx := firstFrame + i
		exec(`INSERT INTO frames (capture_id, frame_index, stream_id, chunk_seq, pts_ms, ts, width, height, detection_count, model)
			VALUES ($1, $2, $3, 0, $4, $5, 640, 480, $6, 'fixture')`, captureID, idx, streamID, idx*1000, ts(f.ts), len(f.dets))
		for j, d := range f.dets {
			exec(`INSERT INTO detections (capture_id, frame_index, det_index, stream_id, ts, class_id, class_name, score, x1, y1, x2, y2)
				VALUES ($1, $2, $3, $4, $5, 0, $6, $7, 0, 0, 1, 1)`, captureID, idx, j, streamID, ts(f.ts), d.class, d.score)
		}
	}
}

// insertFixture loads two streams. Per frame, the detections that count
// (score >= 0.3):
//
//	cam-a "Yard":    12:00:10 person 2, car 1, bike 2
//	                 12:00:40 nothing
//	                 12:01:10 person 1 (plus a person at 0.2, filtered)
//	                 12:01:50 person 3 (one at exactly 0.3), car 2
//	cam-b "Parking": 12:00:30 person 1, car 3, dog 1, bike 1
//	                 12:00:50 nothing (a car at 0.1, filtered)
func insertFixture(t *testing.T, pool *pgxpool.Pool) {
	insertCapture(t, pool, "cam-a", "Yard", "cap-a", 0, []fixFrame{
		{"12:00:10", []fixDet{{"person", 0.9}, {"car", 0.7}, {"person", 0.8}, {"bike", 0.6}, {"bike", 0.5}}},
		{"12:00:40", nil},
		{"12:01:10", []fixDet{{"person", 0.95}, {"person", 0.2}}},
		{"12:01:50", []fixDet{{"person", 0.9}, {"car", 0.8}, {"person", 0.6}, {"car", 0.4}, {"person", 0.3}}},
	})
	insertCapture(t, pool, "cam-b", "Parking", "cap-b", 0, []fixFrame{
		{"12:00:30", []fixDet{{"person", 0.5}, {"car", 0.9}, {"car", 0.8}, {"dog", 0.9}, {"car", 0.7}, {"bike", 0.55}}},
		{"12:00:50", []fixDet{{"car", 0.1}}},
	})
	insertTracking(t, pool)
}

// insertTracking adds what tracking wrote for cap-a: persons 1 and 2 (first
// seen 12:00:10 and 12:01:10) and car 3 (12:00:10); person 1 crossed the
// line "gate" in at 12:00:40 and out at 12:01:50, car 3 in at 12:01:50;
// person 1 stood in the zone "door" from 12:00:10 to 12:01:10, person 2
// entered it at 12:01:50 and is still in it.
func insertTracking(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	for _, q := range []string{
		`INSERT INTO tracks (capture_id, track_id, stream_id, class_name, first_frame, last_frame, first_ts, last_ts, frames_seen) VALUES
			('cap-a', 1, 'cam-a', 'person', 0, 3, '2024-05-01 12:00:10Z', '2024-05-01 12:01:50Z', 3),
			('cap-a', 2, 'cam-a', 'person', 2, 3, '2024-05-01 12:01:10Z', '2024-05-01 12:01:50Z', 2),
			('cap-a', 3, 'cam-a', 'car', 0, 3, '2024-05-01 12:00:10Z', '2024-05-01 12:01:50Z', 2)`,
		`INSERT INTO crossings (capture_id, line, track_id, direction, stream_id, class_name, frame_index, ts) VALUES
			('cap-a', 'gate', 1, 'in', 'cam-a', 'person', 1, '2024-05-01 12:00:40Z'),
			('cap-a', 'gate', 1, 'out', 'cam-a', 'person', 3, '2024-05-01 12:01:50Z'),
			('cap-a', 'gate', 3, 'in', 'cam-a', 'car', 3, '2024-05-01 12:01:50Z')`,
		`INSERT INTO zone_visits (capture_id, zone, track_id, enter_frame, stream_id, class_name, enter_ts, exit_frame, exit_ts, dwell_ms) VALUES
			('cap-a', 'door', 1, 0, 'cam-a', 'person', '2024-05-01 12:00:10Z', 2, '2024-05-01 12:01:10Z', 60000),
			('cap-a', 'door', 2, 3, 'cam-a', 'person', '2024-05-01 12:01:50Z', NULL, NULL, NULL)`,
		`INSERT INTO zone_occupancy (capture_id, frame_index, zone, class_name, stream_id, ts, count) VALUES
			('cap-a', 0, 'door', 'person', 'cam-a', '2024-05-01 12:00:10Z', 1),
			('cap-a', 1, 'door', 'person', 'cam-a', '2024-05-01 12:00:40Z', 1),
			('cap-a', 2, 'door', 'person', 'cam-a', '2024-05-01 12:01:10Z', 1),
			('cap-a', 3, 'door', 'person', 'cam-a', '2024-05-01 12:01:50Z', 1)`,
	} {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			t.Fatalf("fixture %s: %v", q, err)
		}
	}
}

// Golden tables for insertFixture with the default vars, worked by hand.
var (
	wantFrameObjectCounts = []string{
		"cap-a|0|cam-a|12:00:10|bike|2",
		"cap-a|0|cam-a|12:00:10|car|1",
		"cap-a|0|cam-a|12:00:10|person|2",
		"cap-a|2|cam-a|12:01:10|person|1",
		"cap-a|3|cam-a|12:01:50|car|2",
		"cap-a|3|cam-a|12:01:50|person|3",
		"cap-b|0|cam-b|12:00:30|bike|1",
		"cap-b|0|cam-b|12:00:30|car|3",
		"cap-b|0|cam-b|12:00:30|dog|1",
		"cap-b|0|cam-b|12:00:30|person|1",
	}
	// stream|object|bucket|frames|objects|avg_per_frame|max_per_frame
	wantObjectCounts = []string{
		"cam-a|bike|12:00:00|2|2|1|2",
		"cam-a|car|12:00:00|2|1|0.5|1",
		"cam-a|person|12:00:00|2|2|1|2",
		"cam-a|car|12:01:00|2|2|1|2",
		"cam-a|person|12:01:00|2|4|2|3", // person 1 and 3 over 2 frames
		"cam-b|bike|12:00:00|2|1|0.5|1",
		"cam-b|car|12:00:00|2|3|1.5|3",
		"cam-b|dog|12:00:00|2|1|0.5|1",
		"cam-b|person|12:00:00|2|1|0.5|1",
	}
	// stream|object|frames|objects|avg_per_frame|max_per_frame|rank
	wantStreamObjectRanking = []string{
		"cam-a|person|4|6|1.5|3|1", // 2,0,1,3
		"cam-a|car|4|3|0.75|2|2",   // 1,0,0,2
		"cam-a|bike|4|2|0.5|2|3",   // 2,0,0,0
		"cam-b|car|2|3|1.5|3|1",
		"cam-b|bike|2|1|0.5|1|2", // bike, dog, person tie at 0.5: by name
		"cam-b|dog|2|1|0.5|1|3",
		"cam-b|person|2|1|0.5|1|4",
	}
	// stream|bucket|frames|objects|first_ts|last_ts
	wantStreamBuckets = []string{
		"cam-a|12:00:00|2|5|12:00:10|12:00:40", // person 2, car 1, bike 2; an empty frame
		"cam-a|12:01:00|2|6|12:01:10|12:01:50", // person 1; person 3, car 2
		"cam-b|12:00:00|2|6|12:00:30|12:00:50",
	}
	// stream|name|frames|objects|avg_per_frame|distinct_objects|buckets|first_ts|last_ts
	wantStreamTotals = []string{
		"cam-a|Yard|4|11|2.75|3|2|12:00:10|12:01:50",
		"cam-b|Parking|2|6|3|4|1|12:00:30|12:00:50",
	}
	// object|streams|frames|objects|avg_per_frame|max_per_frame|rank, over
	// the 6 frames of both streams
	wantObjectRanking = []string{
		"person|2|6|7|1.1666666666666667|3|1",
		"car|2|6|6|1|3|2",
		"bike|2|6|3|0.5|2|3",
		"dog|1|6|1|0.16666666666666666|1|4",
	}
	// stream|name|frames|objects|avg_per_frame|distinct|top_object|top_avg|rank
	wantStreamRanking = []string{
		"cam-b|Parking|2|6|3|4|car|1.5|1",
		"cam-a|Yard|4|11|2.75|3|person|1.5|2",
	}
	// stream|object|rank|buckets|frames|objects|avg_per_frame|max_per_frame
	wantTopObjectSeries = []string{
		"cam-a|person|1|12:00,12:01|2,2|2,4|1,2|2,3",
		"cam-a|car|2|12:00,12:01|2,2|1,2|0.5,1|1,2",
		"cam-a|bike|3|12:00,12:01|2,2|2,0|1,0|2,0", // no bike in 12:01: a zero, not a gap
		"cam-b|car|1|12:00|2|3|1.5|3",
		"cam-b|bike|2|12:00|2|1|0.5|1",
		"cam-b|dog|3|12:00|2|1|0.5|1",
		"cam-b|person|4|12:00|2|1|0.5|1",
	}
	// object|stream|stream_name|frames|objects|avg_per_frame|max_per_frame|rank
	wantObjectStreamRanking = []string{
		"bike|cam-a|Yard|4|2|0.5|2|1", // tie at 0.5: by stream_id, not name
		"bike|cam-b|Parking|2|1|0.5|1|2",
		"car|cam-b|Parking|2|3|1.5|3|1",
		"car|cam-a|Yard|4|3|0.75|2|2",
		"dog|cam-b|Parking|2|1|0.5|1|1",
		"person|cam-a|Yard|4|6|1.5|3|1",
		"person|cam-b|Parking|2|1|0.5|1|2",
	}
)

const (
	qFrameObjectCounts = `SELECT capture_id, frame_index, stream_id, ts, class_name, n
		FROM analytics.frame_object_counts ORDER BY capture_id, frame_index, class_name`
	qObjectCounts = `SELECT stream_id, object, bucket, frames, objects, avg_per_frame, max_per_frame
		FROM analytics.object_counts ORDER BY stream_id, bucket, object`
	qStreamObjectRanking = `SELECT stream_id, object, frames, objects, avg_per_frame, max_per_frame, rank
		FROM analytics.stream_object_ranking ORDER BY stream_id, rank`
	qObjectStreamRanking = `SELECT object, stream_id, stream_name, frames, objects, avg_per_frame, max_per_frame, rank
		FROM analytics.object_stream_ranking ORDER BY object, rank`
	qStreamBuckets = `SELECT stream_id, bucket, frames, objects, first_ts, last_ts
		FROM analytics.stream_buckets ORDER BY stream_id, bucket`
	qStreamTotals = `SELECT stream_id, stream_name, frames, objects, avg_per_frame, distinct_objects, buckets, first_ts, last_ts
		FROM analytics.stream_totals ORDER BY stream_id`
	qObjectRanking = `SELECT object, streams, frames, objects, avg_per_frame, max_per_frame, rank
		FROM analytics.object_ranking ORDER BY rank`
	qStreamRanking = `SELECT stream_id, stream_name, frames, objects, avg_per_frame, distinct_objects, top_object,
		top_object_avg_per_frame, rank FROM analytics.stream_ranking ORDER BY rank`
	qTopObjectSeries = `SELECT stream_id, object, rank,
		(SELECT string_agg(to_char(b AT TIME ZONE 'UTC', 'HH24:MI'), ',') FROM unnest(buckets) b),
		array_to_string(frames, ','), array_to_string(objects, ','), array_to_string(avg_per_frame, ','),
		array_to_string(max_per_frame, ',')
		FROM analytics.top_object_series ORDER BY stream_id, rank`
)

// rowsOf runs q and formats each row as its values joined by |, times as
// UTC clock times.
func rowsOf(t *testing.T, ctx context.Context, pool *pgxpool.Pool, sql string) []string {
	t.Helper()
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if tm, ok := v.(time.Time); ok {
				parts[i] = tm.UTC().Format("15:04:05")
			} else {
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func checkRows(t *testing.T, ctx context.Context, pool *pgxpool.Pool, sql string, want []string) {
	t.Helper()
	if got := rowsOf(t, ctx, pool, sql); !slices.Equal(got, want) {
		t.Errorf("%s\ngot:\n  %s\nwant:\n  %s", sql, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// Golden tracking tables for insertTracking.
var (
	qUniqueObjects    = `SELECT stream_id, object, to_char(bucket AT TIME ZONE 'UTC', 'HH24:MI:SS'), tracks FROM analytics.unique_objects ORDER BY 1, 3, 2`
	wantUniqueObjects = []string{"cam-a|car|12:00:00|1", "cam-a|person|12:00:00|1", "cam-a|person|12:01:00|1"}
	qLineCrossings    = `SELECT stream_id, line, direction, object, to_char(bucket AT TIME ZONE 'UTC', 'HH24:MI:SS'), crossings FROM analytics.line_crossings ORDER BY 1, 5, 2, 3, 4`
	wantLineCrossings = []string{"cam-a|gate|in|person|12:00:00|1", "cam-a|gate|in|car|12:01:00|1", "cam-a|gate|out|person|12:01:00|1"}
	// 12:00 has 2 frames of cam-a, both with one person in the door; 12:01 too.
	qZoneOccupancy    = `SELECT stream_id, zone, object, to_char(bucket AT TIME ZONE 'UTC', 'HH24:MI:SS'), frames, avg_occupancy, max_occupancy FROM analytics.zone_occupancy_buckets ORDER BY 1, 4, 2, 3`
	wantZoneOccupancy = []string{"cam-a|door|person|12:00:00|2|1|1", "cam-a|door|person|12:01:00|2|1|1"}
	qZoneDwell        = `SELECT stream_id, zone, object, to_char(bucket AT TIME ZONE 'UTC', 'HH24:MI:SS'), visits, avg_dwell_s, max_dwell_s FROM analytics.zone_dwell ORDER BY 1, 4, 2, 3`
	wantZoneDwell     = []string{"cam-a|door|person|12:01:00|1|60|60"}
)

func checkGolden(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	checkRows(t, ctx, pool, qUniqueObjects, wantUniqueObjects)
	checkRows(t, ctx, pool, qLineCrossings, wantLineCrossings)
	checkRows(t, ctx, pool, qZoneOccupancy, wantZoneOccupancy)
	checkRows(t, ctx, pool, qZoneDwell, wantZoneDwell)
	checkRows(t, ctx, pool, qFrameObjectCounts, wantFrameObjectCounts)
	checkRows(t, ctx, pool, qObjectCounts, wantObjectCounts)
	checkRows(t, ctx, pool, qStreamObjectRanking, wantStreamObjectRanking)
	checkRows(t, ctx, pool, qObjectStreamRanking, wantObjectStreamRanking)
	checkRows(t, ctx, pool, qStreamBuckets, wantStreamBuckets)
	checkRows(t, ctx, pool, qStreamTotals, wantStreamTotals)
	checkRows(t, ctx, pool, qObjectRanking, wantObjectRanking)
	checkRows(t, ctx, pool, qStreamRanking, wantStreamRanking)
	checkRows(t, ctx, pool, qTopObjectSeries, wantTopObjectSeries)
	checkHourly(t, pool)
}

// checkHourly checks the hourly tables hold exactly the minute tables
// merged per hour: the query lists the rows that differ.
func checkHourly(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	checkRows(t, context.Background(), pool, `
WITH b AS (
    SELECT stream_id, date_bin('1 hour', bucket, timestamptz 'epoch') AS bucket, sum(frames)::bigint AS frames,
           sum(objects)::bigint AS objects
    FROM analytics.stream_buckets GROUP BY 1, 2
), o AS (
    SELECT stream_id, object, date_bin('1 hour', bucket, timestamptz 'epoch') AS bucket, sum(objects)::bigint AS objects,
           max(max_per_frame)::bigint AS max_per_frame
    FROM analytics.object_counts GROUP BY 1, 2, 3
)
(SELECT 'missing bucket', stream_id, bucket::text FROM (SELECT * FROM b EXCEPT SELECT * FROM analytics.stream_buckets_hourly) x)
UNION ALL
(SELECT 'extra bucket', stream_id, bucket::text FROM (SELECT * FROM analytics.stream_buckets_hourly EXCEPT SELECT * FROM b) x)
UNION ALL
(SELECT 'missing count', stream_id, object || ' ' || bucket FROM (SELECT * FROM o EXCEPT SELECT * FROM analytics.object_counts_hourly) x)
UNION ALL
(SELECT 'extra count', stream_id, object || ' ' || bucket FROM (SELECT * FROM analytics.object_counts_hourly EXCEPT SELECT * FROM o) x)`, nil)
}

// fixtureProject is a database holding the fixture, and the default project.
func fixtureProject(t *testing.T) (*pgxpool.Pool, *Project) {
	t.Helper()
	pool, _ := testenv.DB(t)
	insertFixture(t, pool)
	p, err := DefaultProject()
	if err != nil {
		t.Fatal(err)
	}
	return pool, p
}

func TestRunGolden(t *testing.T) {
	pool, p := fixtureProject(t)
	ctx := context.Background()
	res, err := p.Run(ctx, pool, RunOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range res.Models {
		got = append(got, fmt.Sprintf("%s %s %s %d", m.Name, m.Materialized, m.Mode, m.Rows))
	}
	want := []string{
		"frame_object_counts incremental full 10", "line_crossings incremental full 3", "stream_buckets incremental full 3", "object_counts incremental full 9",
		"stream_buckets_hourly incremental full 2", "object_counts_hourly incremental full 7", "stream_totals table full 2", "stream_object_ranking table full 7", "object_ranking table full 4",
		"object_stream_ranking table full 7", "stream_ranking table full 2", "top_object_series table full 7",
		"unique_objects incremental full 3", "zone_dwell incremental full 1", "zone_occupancy_buckets incremental full 2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("RunResult models = %v, want %v", got, want)
	}
	if len(res.Tests) != len(p.Tests()) {
		t.Errorf("ran %d tests, want all %d", len(res.Tests), len(p.Tests()))
	}
	for _, tr := range res.Tests {
		if !tr.Passed() {
			t.Errorf("test %s failed: %+v", tr.Name, tr)
		}
	}
	checkGolden(t, pool)

	// The API reads these names and types.
	checkRows(t, ctx, pool, `SELECT table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name IN
		('object_counts', 'object_stream_ranking', 'stream_object_ranking', 'object_ranking', 'stream_ranking', 'top_object_series')
		GROUP BY table_name ORDER BY table_name`, []string{
		"object_counts|stream_id text, object text, bucket timestamp with time zone, frames bigint, objects bigint, avg_per_frame double precision, max_per_frame bigint",
		"object_ranking|object text, streams bigint, frames bigint, objects bigint, avg_per_frame double precision, max_per_frame bigint, rank bigint",
		"object_stream_ranking|object text, stream_id text, stream_name text, frames bigint, objects bigint, avg_per_frame double precision, max_per_frame bigint, rank bigint",
		"stream_object_ranking|stream_id text, object text, frames bigint, objects bigint, avg_per_frame double precision, max_per_frame bigint, rank bigint",
		"stream_ranking|stream_id text, stream_name text, frames bigint, objects bigint, avg_per_frame double precision, distinct_objects bigint, top_object text, top_object_avg_per_frame double precision, rank bigint",
		"top_object_series|stream_id text, object text, rank bigint, buckets ARRAY, frames ARRAY, objects ARRAY, avg_per_frame ARRAY, max_per_frame ARRAY",
	})

	// Running again merges nothing new (the lookback re-reads the same
	// rows) and leaves nothing behind.
	for i := 0; i < 2; i++ {
		res, err := p.Run(ctx, pool, RunOptions{Logger: quiet})
		if err != nil {
			t.Fatalf("re-run %d: %v", i, err)
		}
		if m := modelOf(res, "object_counts"); m.Mode != ModeIncremental || m.Since == nil {
			t.Errorf("re-run %d: object_counts %+v, want an incremental merge", i, m)
		}
		checkGolden(t, pool)
	}
	checkRows(t, ctx, pool, `SELECT relname, relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'analytics' AND relkind IN ('r', 'v') ORDER BY relname`, []string{
		"dbtlike_state|r", "frame_object_counts|r", "line_crossings|r", "object_counts|r", "object_counts_hourly|r", "object_ranking|r",
		"object_stream_ranking|r", "stream_buckets|r", "stream_buckets_hourly|r", "stream_object_ranking|r", "stream_ranking|r", "stream_totals|r", "top_object_series|r",
		"unique_objects|r", "zone_dwell|r", "zone_occupancy_buckets|r",
	})
}

func TestRunVarsAndSelect(t *testing.T) {
	pool, p := fixtureProject(t)
	ctx := context.Background()
	// Scores >= 0.85 leave cam-a with one person in each of frames 0, 2, 3
	// and no car, cam-b with a car and a dog; two-minute buckets put all of
	// cam-a's frames in one.
	res, err := p.Run(ctx, pool, RunOptions{Logger: quiet, Vars: map[string]string{"min_score": "0.85", "bucket": "'2 minutes'"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Models) != 15 {
		t.Fatalf("built %d models", len(res.Models))
	}
	checkRows(t, ctx, pool, `SELECT stream_id, object, bucket, frames, objects, avg_per_frame, max_per_frame
		FROM analytics.object_counts WHERE stream_id = 'cam-a' ORDER BY object`, []string{
		"cam-a|person|12:00:00|4|3|0.75|1",
	})
	checkRows(t, ctx, pool, qObjectStreamRanking, []string{
		"car|cam-b|Parking|2|1|0.5|1|1",
		"dog|cam-b|Parking|2|1|0.5|1|1",
		"person|cam-a|Yard|4|3|0.75|1|1",
	})

	// Selecting one table rebuilds only it: it reads the (now default)
	// view, while the other tables keep the 0.85 numbers.
	res, err = p.Run(ctx, pool, RunOptions{Logger: quiet, Select: []string{"+stream_object_ranking"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Models) != 5 || res.Models[4].Name != "stream_object_ranking" || modeOf(res, "object_counts") != ModeFull {
		t.Fatalf("select built %+v, want a full rebuild of object_counts (its vars changed)", res.Models)
	}
	checkRows(t, ctx, pool, qStreamObjectRanking, wantStreamObjectRanking)
	checkRows(t, ctx, pool, `SELECT count(*) FROM analytics.object_stream_ranking`, []string{"3"})

	_, err = p.Run(ctx, pool, RunOptions{Logger: quiet, Vars: map[string]string{"bucket": "'1 month'"}})
	wantErr(t, err, "model line_crossings", "SQLSTATE")
}

// advisoryLocks counts the advisory locks in the test's own database (other
// packages' tests take goose's lock in theirs).
const advisoryLocks = `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`

// gate blocks a hook until opened; opening twice is fine.
type gate struct {
	reached, open chan struct{}
	once1, once2  sync.Once
}

func newGate(t *testing.T) *gate {
	g := &gate{reached: make(chan struct{}), open: make(chan struct{})}
	t.Cleanup(g.release) // never leave a Run stuck when a test fails early
	return g
}

func (g *gate) hold()    { g.once1.Do(func() { close(g.reached) }); <-g.open }
func (g *gate) release() { g.once2.Do(func() { close(g.open) }) }

func (g *gate) wait(t *testing.T) {
	t.Helper()
	select {
	case <-g.reached:
	case <-time.After(30 * time.Second):
		t.Fatal("run never reached the hook")
	}
}

// waitFor polls a count query until it returns want.
func waitFor(t *testing.T, pool *pgxpool.Pool, what, sql string, want int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int
		if err := pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: count %d, want %d", what, n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRebuildStaysReadable(t *testing.T) {
	pool, p := fixtureProject(t)
	ctx := context.Background()
	if _, err := p.Run(ctx, pool, RunOptions{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	// A fifth cam-a frame with two more people: person goes 6/4 -> 8/5.
	insertCapture(t, pool, "cam-a", "Yard", "cap-a", 4, []fixFrame{{"12:02:10", []fixDet{{"person", 0.9}, {"person", 0.9}}}})

	built, swapped := newGate(t), newGate(t)
	p.hook = func(stage, model string) {
		if model != "stream_object_ranking" {
			return
		}
		switch stage {
		case "built":
			built.hold()
		case "swapped":
			swapped.hold()
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Run(ctx, pool, RunOptions{Logger: quiet})
		done <- err
	}()
	const q = `SELECT frames, objects, avg_per_frame FROM analytics.stream_object_ranking WHERE stream_id = 'cam-a' AND object = 'person'`

	// The new table is built but not swapped in: readers see the old,
	// complete table and not the one being built.
	built.wait(t)
	checkRows(t, ctx, pool, q, []string{"4|6|1.5"})
	checkRows(t, ctx, pool, `SELECT count(*), to_regclass('analytics.stream_object_ranking__new') IS NULL
		FROM analytics.stream_object_ranking`, []string{"7|true"})
	built.release()

	// Swapped but not committed: a reader waits for the commit, then reads
	// the new table without error.
	swapped.wait(t)
	type result struct {
		frames, objects int64
		avg             float64
		err             error
	}
	read := make(chan result, 1)
	go func() {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var r result
		r.err = pool.QueryRow(tctx, q).Scan(&r.frames, &r.objects, &r.avg)
		read <- r
	}()
	waitFor(t, pool, "reader blocked on the swap", `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%stream_object_ranking%'`, 1)
	swapped.release()
	if r := <-read; r.err != nil || r.frames != 5 || r.objects != 8 || r.avg != 1.6 {
		t.Errorf("reader after swap got %+v, want frames 5, objects 8, avg 1.6", r)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentRuns(t *testing.T) {
	pool, p := fixtureProject(t)
	ctx := context.Background()

	// Two captures finishing together: both runs succeed.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = p.Run(ctx, pool, RunOptions{Logger: quiet})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	checkGolden(t, pool)

	// And they take turns: while one run is held, the other waits on the
	// advisory lock.
	held := newGate(t)
	p.hook = func(stage, model string) {
		if stage == "swapped" && model == "object_counts" {
			held.hold()
		}
	}
	done := make(chan error, 2)
	go func() { _, err := p.Run(ctx, pool, RunOptions{Logger: quiet}); done <- err }()
	held.wait(t)
	go func() { _, err := p.Run(ctx, pool, RunOptions{Logger: quiet}); done <- err }()
	waitFor(t, pool, "second run waiting for the lock", `SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND NOT granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, 1)
	held.release()
	for i := 0; i < 2; i++ {
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	checkGolden(t, pool)
	waitFor(t, pool, "advisory lock released", advisoryLocks, 0)
}

func TestRunFailureKeepsOldTable(t *testing.T) {
	pool, _ := testenv.DB(t)
	ctx := context.Background()
	insertFixture(t, pool)
	good, err := Load(Models, mapFS(map[string]string{"extra.sql": "SELECT count(*) AS n FROM {{ ref('object_counts') }}"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.Run(ctx, pool, RunOptions{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	bad, err := Load(Models, mapFS(map[string]string{"extra.sql": "SELECT nope FROM {{ ref('object_counts') }}"}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := bad.Run(ctx, pool, RunOptions{Logger: quiet})
	wantErr(t, err, "model extra", `column "nope" does not exist`, "42703")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42703" {
		t.Errorf("error %v does not wrap the PostgreSQL error", err)
	}
	// Models are built in order, extra right after object_counts: what came
	// before it was built, the rest not.
	if res == nil || len(res.Models) == 0 || res.Models[len(res.Models)-1].Name != "object_counts" ||
		modeOf(res, "stream_buckets") == "" || modeOf(res, "stream_totals") != "" {
		t.Errorf("partial result %+v", res)
	}
	checkRows(t, ctx, pool, `SELECT n, to_regclass('analytics.extra__new') IS NULL FROM analytics.extra`, []string{"9|true"})
	checkRows(t, ctx, pool, advisoryLocks, []string{"0"})
}

// TestMaterializationChanges covers views built on other models: a table
// under a view is swapped, a table becomes a view, a view's columns change.
func TestMaterializationChanges(t *testing.T) {
	pool, _ := testenv.DB(t)
	ctx := context.Background()
	run := func(files map[string]string) {
		t.Helper()
		if _, err := mustLoad(t, files).Run(ctx, pool, RunOptions{Logger: quiet}); err != nil {
			t.Fatal(err)
		}
	}
	view := "{{ config(materialized='view') }}"
	files := map[string]string{
		"base.sql": "SELECT 1 AS a",
		"v1.sql":   view + "SELECT a FROM {{ ref('base') }}",
		"v2.sql":   view + "SELECT a FROM {{ ref('v1') }}",
	}
	run(files)
	run(files) // swapping base must not trip over v1 and v2
	checkRows(t, ctx, pool, "SELECT a FROM analytics.v2", []string{"1"})

	files["base.sql"] = view + "SELECT 2 AS a, 3 AS b"
	run(files)
	checkRows(t, ctx, pool, "SELECT relkind::text, (SELECT a FROM analytics.v2) FROM pg_class WHERE oid = 'analytics.base'::regclass", []string{"v|2"})

	files["v1.sql"] = view + "SELECT a + b AS d FROM {{ ref('base') }}" // not a CREATE OR REPLACE
	files["v2.sql"] = view + "SELECT d FROM {{ ref('v1') }}"
	run(files)
	checkRows(t, ctx, pool, "SELECT d FROM analytics.v2", []string{"5"})

	files["base.sql"] = "SELECT 4 AS a, 5 AS b" // back to a table
	run(files)
	checkRows(t, ctx, pool, "SELECT relkind::text, (SELECT d FROM analytics.v2) FROM pg_class WHERE oid = 'analytics.base'::regclass", []string{"r|9"})
}
