package dbtlike

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sightline-video/sightline/internal/testenv"
)

// benchStreams is how many streams the benchmark's data is spread over.
const benchStreams = 10

// genFrames writes frames [from, to) of every bench stream, one frame a
// second from 12:00 on 2024-05-01, and their detections: 0 to 10 a frame
// (5 on average, so some frames are empty) over 8 classes, with scores
// spread over [0, 1) so about 70% pass the default threshold. It returns
// the number of detections written.
func genFrames(b *testing.B, pool *pgxpool.Pool, capture string, from, to int, insertedAt string) int64 {
	b.Helper()
	ctx := context.Background()
	exec := func(sql string, args ...any) int64 {
		tag, err := pool.Exec(ctx, sql, args...)
		if err != nil {
			b.Fatalf("bench data: %v\n%s", err, sql)
		}
		return tag.RowsAffected()
	}
	exec(`INSERT INTO streams (id, name, source) SELECT 's' || s, 'Stream ' || s, 'bench' FROM generate_series(0, $1 - 1) s
		ON CONFLICT DO NOTHING`, benchStreams)
	exec(`INSERT INTO captures (id, stream_id, source, chunk_frames, started_at)
		SELECT $2 || '-s' || s, 's' || s, 'bench', 50, '2024-05-01 12:00:00+00' FROM generate_series(0, $1 - 1) s`, benchStreams, capture)
	exec(`INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
		SELECT $2 || '-s' || s, c, 's' || s, 'k', c * 50, 50, c * 50000, c * 50000 + 49000
		FROM generate_series(0, $1 - 1) s, generate_series($3 / 50, ($4 - 1) / 50) c`, benchStreams, capture, from, to)
	exec(`INSERT INTO frames (capture_id, frame_index, stream_id, chunk_seq, pts_ms, ts, width, height, detection_count, model, inserted_at)
		SELECT $2 || '-s' || s, f, 's' || s, f / 50, f * 1000::bigint,
		       timestamptz '2024-05-01 12:00:00+00' + f * interval '1 second', 640, 480, (f * 7 + s * 3) % 11, 'bench', `+insertedAt+`
		FROM generate_series(0, $1 - 1) s, generate_series($3, $4 - 1) f`, benchStreams, capture, from, to)
	return exec(`INSERT INTO detections (capture_id, frame_index, det_index, stream_id, ts, class_id, class_name, score, x1, y1, x2, y2)
		SELECT f.capture_id, f.frame_index, d, f.stream_id, f.ts, (f.frame_index * 13 + d * 7) % 8,
		       (ARRAY['person','car','dog','bike','truck','bus','cat','bird'])[(f.frame_index * 13 + d * 7) % 8 + 1],
		       ((f.frame_index * 31 + d * 17) % 100) / 100.0, 0, 0, 1, 1
		FROM frames f, generate_series(0, 9) d
		WHERE f.capture_id LIKE $1 || '-s%' AND d < f.detection_count`, capture)
}

// BenchmarkRollup times a full rollup of about a million detections and
// then an incremental one after 1% more data arrives, and prints
// "rollup-bench: detections=N full_s=A incremental_1pct_s=B" (tests
// included in both runs). SIGHTLINE_BENCH_DETECTIONS scales it.
func BenchmarkRollup(b *testing.B) {
	want := 1_000_000
	if v := os.Getenv("SIGHTLINE_BENCH_DETECTIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			b.Fatalf("SIGHTLINE_BENCH_DETECTIONS=%q: want a number of at least 1000", v)
		}
		want = n
	}
	framesPerStream := want / 5 / benchStreams // 5 detections a frame on average
	pool, _ := testenv.DB(b)
	ctx := context.Background()
	p, err := DefaultProject()
	if err != nil {
		b.Fatal(err)
	}
	// Details go to stdout: go test cuts a benchmark's log short.
	say := func(format string, args ...any) { fmt.Printf("  "+format+"\n", args...) }
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := pool.Exec(ctx, `TRUNCATE streams, captures, chunks, frames, detections CASCADE;
			DROP SCHEMA analytics CASCADE; CREATE SCHEMA analytics`); err != nil {
			b.Fatal(err)
		}
		t := time.Now()
		// The history was written an hour ago, as it would have been
		// before the last rollup in production.
		dets := genFrames(b, pool, "base", 0, framesPerStream, "now() - interval '1 hour'")
		for _, tbl := range []string{"frames", "detections"} {
			if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+tbl); err != nil {
				b.Fatal(err)
			}
		}
		say("generated %d frames and %d detections in %s", framesPerStream*benchStreams, dets, time.Since(t).Round(time.Millisecond))
		b.StartTimer()

		t = time.Now()
		full, err := p.Run(ctx, pool, RunOptions{Logger: quiet, FullRefresh: true})
		if err != nil {
			b.Fatal(err)
		}
		fullS := time.Since(t).Seconds()

		// 1% more frames and detections: each stream's capture goes on.
		b.StopTimer()
		more := framesPerStream / 100
		newDets := genFrames(b, pool, "more", framesPerStream, framesPerStream+more, "now()")
		if _, err := pool.Exec(ctx, "ANALYZE frames; ANALYZE detections"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t = time.Now()
		inc, err := p.Run(ctx, pool, RunOptions{Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		incS := time.Since(t).Seconds()
		for j := range full.Models {
			say("%-22s full %6.3fs %8d rows | incremental %6.3fs %6d rows %6d deleted (%s)", full.Models[j].Name,
				full.Models[j].Duration.Seconds(), full.Models[j].Rows, inc.Models[j].Duration.Seconds(), inc.Models[j].Rows,
				inc.Models[j].Deleted, inc.Models[j].Mode)
		}
		var testsFull, testsInc time.Duration
		for _, tr := range full.Tests {
			testsFull += tr.Duration
		}
		for _, tr := range inc.Tests {
			testsInc += tr.Duration
			if tr.Duration > 20*time.Millisecond {
				say("slow test in the incremental run: %s %.3fs", tr.Name, tr.Duration.Seconds())
			}
		}
		say("incremental run after %d more frames, %d more detections", more*benchStreams, newDets)
		say("data tests: %d, %.3fs in the full run, %.3fs in the incremental run", len(full.Tests), testsFull.Seconds(), testsInc.Seconds())
		b.ReportMetric(fullS, "full_s")
		b.ReportMetric(incS, "incremental_1pct_s")
		b.ReportMetric(float64(dets), "detections")
		fmt.Printf("rollup-bench: detections=%d full_s=%.3f incremental_1pct_s=%.3f\n", dets, fullS, incS)
	}
}
