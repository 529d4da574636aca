package dbtlike

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sightline-video/sightline/internal/testenv"
)

// benchEnv reads a positive count from the environment, with a default.
func benchEnv(b *testing.B, name string, def, least int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		b.Fatalf("%s=%q: want a number of at least %d", name, v, least)
	}
	return n
}

// benchGen writes the benchmark's data over its streams.
type benchGen struct {
	b       *testing.B
	pool    *pgxpool.Pool
	streams int
}

// benchBulkTables are the tables a bulk load rebuilds the indexes of.
var benchBulkTables = []string{"frames", "detections"}

// frames writes, for each stream s0..s(streams-1), a capture named after
// capture with frames [from, to), one a second from 12:00 on 2024-05-01 in
// chunks of 50, and their detections: 0 to 10 a frame (5 on average, so
// some frames are empty) over 8 classes, with scores spread over [0, 1) so
// about 70% pass the default threshold. Rows go in chunk by chunk across
// the streams, the order the pipeline writes them in. bulk loads the way a
// restore does (see below). It returns the number of detections written.
func (g benchGen) frames(capture string, from, to int, insertedAt string, bulk bool) int64 {
	g.b.Helper()
	ctx := context.Background()
	conn, err := g.pool.Acquire(ctx)
	if err != nil {
		g.b.Fatal(err)
	}
	defer conn.Release()
	var dets int64
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		exec := func(sql string, args ...any) (int64, error) {
			tag, err := tx.Exec(ctx, sql, args...)
			if err != nil {
				return 0, fmt.Errorf("%w\n%s", err, sql)
			}
			return tag.RowsAffected(), nil
		}
		// Planning these costs more with JIT than running them.
		if _, err := exec("SET LOCAL jit = off"); err != nil {
			return err
		}
		var rebuild []string
		if bulk {
			// A bulk load the way pg_restore does it: no per-row foreign key
			// checks (the rows are consistent by construction; needs a
			// superuser, as testenv's role is) and the indexes built once
			// at the end, by sorting, instead of maintained row by row:
			// several times faster at ten million rows.
			var err error
			if rebuild, err = dropIndexes(ctx, tx, benchBulkTables); err != nil {
				return err
			}
			for _, s := range []string{"SET LOCAL session_replication_role = replica", "SET LOCAL maintenance_work_mem = '256MB'"} {
				if _, err := exec(s); err != nil {
					return err
				}
			}
		}
		steps := []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO streams (id, name, source) SELECT 's' || s, 'Stream ' || s, 'bench' FROM generate_series(0, $1 - 1) s
				ON CONFLICT DO NOTHING`, []any{g.streams}},
			{`INSERT INTO captures (id, stream_id, source, chunk_frames, started_at)
				SELECT $2 || '-s' || s, 's' || s, 'bench', 50, '2024-05-01 12:00:00+00' FROM generate_series(0, $1 - 1) s`, []any{g.streams, capture}},
			{`INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
				SELECT $2 || '-s' || s, c, 's' || s, 'k', c * 50, 50, c * 50000, c * 50000 + 49000
				FROM generate_series(0, $1 - 1) s, generate_series($3 / 50, ($4 - 1) / 50) c`, []any{g.streams, capture, from, to}},
			{`INSERT INTO frames (capture_id, frame_index, stream_id, chunk_seq, pts_ms, ts, width, height, detection_count, model, inserted_at)
				SELECT $2 || '-s' || s, f, 's' || s, f / 50, f * 1000::bigint,
				       timestamptz '2024-05-01 12:00:00+00' + f * interval '1 second', 640, 480, (f * 7 + s * 3) % 11, 'bench', ` + insertedAt + `
				FROM generate_series(0, $1 - 1) s, generate_series($3, $4 - 1) f
				ORDER BY f / 50, s, f`, []any{g.streams, capture, from, to}},
			// In the frames' order: a scan of the new frames, each with
			// its detection_count detections.
			{`INSERT INTO detections (capture_id, frame_index, det_index, stream_id, ts, class_id, class_name, score, x1, y1, x2, y2)
				SELECT f.capture_id, f.frame_index, d, f.stream_id, f.ts, (f.frame_index * 13 + d * 7) % 8,
				       (ARRAY['person','car','dog','bike','truck','bus','cat','bird'])[(f.frame_index * 13 + d * 7) % 8 + 1],
				       ((f.frame_index * 31 + d * 17) % 100) / 100.0, 0, 0, 1, 1
				FROM frames f CROSS JOIN LATERAL generate_series(0, f.detection_count - 1) d
				WHERE f.capture_id LIKE $1 || '-s%' AND f.frame_index >= $2`, []any{capture, from}},
		}
		for i, s := range steps {
			n, err := exec(s.sql, s.args...)
			if err != nil {
				return err
			}
			if i == len(steps)-1 {
				dets = n
			}
		}
		for _, sql := range rebuild {
			if _, err := exec(sql); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		g.b.Fatalf("bench data: %v", err)
	}
	return dets
}

// dropIndexes drops the indexes of tables (primary keys and unique
// constraints too, unless a foreign key needs them) and returns the
// statements that recreate them.
func dropIndexes(ctx context.Context, tx pgx.Tx, tables []string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
		       coalesce(c.conname, ''), coalesce(pg_get_constraintdef(c.oid), '')
		FROM pg_index i
		LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u')
		WHERE i.indrelid = ANY($1::regclass[])
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
		ORDER BY 1, 2`, tables)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", strings.Join(tables, ", "), err)
	}
	var drop, create []string
	for rows.Next() {
		var table, index, def, con, conDef string
		if err := rows.Scan(&table, &index, &def, &con, &conDef); err != nil {
			return nil, err
		}
		if con != "" {
			drop = append(drop, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", table, con))
			create = append(create, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", table, con, conDef))
		} else {
			drop = append(drop, "DROP INDEX "+index)
			create = append(create, def)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", strings.Join(tables, ", "), err)
	}
	for _, sql := range drop {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return nil, fmt.Errorf("%s: %w", sql, err)
		}
	}
	return create, nil
}

// BenchmarkRollup times a full rollup of ten million detections over 200
// streams, then an incremental one after 1% more data arrives, data tests
// included in both. It prints a line per model and ends with
// "rollup-bench: detections=N streams=S full_s=A incremental_1pct_s=B
// ratio=B/A". SIGHTLINE_BENCH_DETECTIONS and SIGHTLINE_BENCH_STREAMS scale it.
func BenchmarkRollup(b *testing.B) {
	want := benchEnv(b, "SIGHTLINE_BENCH_DETECTIONS", 10_000_000, 1000)
	streams := benchEnv(b, "SIGHTLINE_BENCH_STREAMS", 200, 1)
	framesPerStream := want / 5 / streams // 5 detections a frame on average
	if framesPerStream < 100 {
		b.Fatalf("%d detections over %d streams: want at least 500 a stream", want, streams)
	}
	pool, _ := testenv.DB(b)
	ctx := context.Background()
	p, err := DefaultProject()
	if err != nil {
		b.Fatal(err)
	}
	gen := benchGen{b: b, pool: pool, streams: streams}
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
		dets := gen.frames("base", 0, framesPerStream, "now() - interval '1 hour'", true)
		for _, tbl := range benchBulkTables {
			if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+tbl); err != nil {
				b.Fatal(err)
			}
		}
		say("generated %d frames and %d detections over %d streams in %s", framesPerStream*streams, dets, streams,
			time.Since(t).Round(time.Millisecond))
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
		newDets := gen.frames("more", framesPerStream, framesPerStream+more, "now()", false)
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
		b.StopTimer()

		testTime := func(res *RunResult, model string) (d time.Duration) {
			for _, tr := range res.Tests {
				if tr.Model == model {
					d += tr.Duration
				}
			}
			return d
		}
		// A model's line: its build and its data tests, in each run.
		say("%-22s | %-31s | %s", "model", "full: build, tests, rows", "incremental: build, tests, rows, deleted, mode")
		for j := range full.Models {
			fm, im := full.Models[j], inc.Models[j]
			say("%-22s | %8.3fs %7.3fs %11d | %8.3fs %7.3fs %7d %7d %s", fm.Name,
				fm.Duration.Seconds(), testTime(full, fm.Name).Seconds(), fm.Rows,
				im.Duration.Seconds(), testTime(inc, im.Name).Seconds(), im.Rows, im.Deleted, im.Mode)
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
		say("incremental run after %d more frames, %d more detections", more*streams, newDets)
		say("data tests: %d, %.3fs in the full run, %.3fs in the incremental run", len(full.Tests), testsFull.Seconds(), testsInc.Seconds())
		b.ReportMetric(fullS, "full_s")
		b.ReportMetric(incS, "incremental_1pct_s")
		b.ReportMetric(float64(dets), "detections")
		fmt.Printf("rollup-bench: detections=%d streams=%d full_s=%.3f incremental_1pct_s=%.3f ratio=%.3f\n",
			dets, streams, fullS, incS, incS/fullS)
		b.StartTimer()
	}
}
