package dbtlike

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sightline-video/sightline/internal/testenv"
)

// projectWithLookback loads the built-in models with every lookback set to
// d: with 0 an incremental run relies on the watermark alone, which is what
// the tests below want to prove correct.
func projectWithLookback(t *testing.T, d string) *Project {
	t.Helper()
	files := map[string]string{}
	err := fs.WalkDir(Models, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Models, p)
		files[p] = strings.ReplaceAll(string(b), "lookback='1m'", "lookback='"+d+"'")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return mustLoad(t, files)
}

// snapshot returns every model table's rows as sorted text.
func snapshot(t *testing.T, pool *pgxpool.Pool, p *Project) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, name := range p.Order() {
		out[name] = rowsOf(t, context.Background(), pool, fmt.Sprintf("SELECT x::text FROM %s x ORDER BY 1", Relation(name)))
	}
	return out
}

func compareSnapshots(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	for _, name := range sortedKeys(want) {
		g, w := got[name], want[name]
		if slices.Equal(g, w) {
			continue
		}
		var missing, extra []string
		for _, r := range w {
			if !slices.Contains(g, r) {
				missing = append(missing, r)
			}
		}
		for _, r := range g {
			if !slices.Contains(w, r) {
				extra = append(extra, r)
			}
		}
		t.Errorf("%s: %s differs (%d rows, want %d)\n missing: %s\n extra:   %s", what, name, len(g), len(w),
			strings.Join(first(missing, 5), "\n          "), strings.Join(first(extra, 5), "\n          "))
	}
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

func mustRun(t *testing.T, p *Project, pool *pgxpool.Pool, opts RunOptions) *RunResult {
	t.Helper()
	opts.Logger = quiet
	res, err := p.Run(context.Background(), pool, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

func modeOf(res *RunResult, name string) string { return modelOf(res, name).Mode }

// modelOf is the result of the named model, or a zero one if it was not built.
func modelOf(res *RunResult, name string) ModelResult {
	for _, m := range res.Models {
		if m.Name == name {
			return m
		}
	}
	return ModelResult{}
}

func TestIncrementalMerge(t *testing.T) {
	pool, _ := testenv.DB(t)
	ctx := context.Background()
	insertFixture(t, pool)
	p := projectWithLookback(t, "0s")
	res := mustRun(t, p, pool, RunOptions{})
	if modeOf(res, "object_counts") != ModeFull {
		t.Fatalf("first run: %+v, want full builds", res.Models)
	}

	// Nothing new: the merges are empty and the tables unchanged.
	res = mustRun(t, p, pool, RunOptions{})
	for _, name := range []string{"frame_object_counts", "stream_buckets", "object_counts"} {
		if m := modelOf(res, name); m.Mode != ModeIncremental || m.Rows != 0 || m.Deleted != 0 {
			t.Errorf("idle incremental run: %+v, want an empty merge", m)
		}
	}
	checkGolden(t, pool)

	// A late chunk of cam-a lands in the 12:00 bucket, after 12:01 was
	// rolled up: only that bucket is recomputed. cam-a 12:00 had 2 frames
	// with person 2, car 1, bike 2; now 3 frames with one more dog.
	insertCapture(t, pool, "cam-a", "Yard", "cap-late", 0, []fixFrame{{"12:00:20", []fixDet{{"dog", 0.9}}}})
	res = mustRun(t, p, pool, RunOptions{})
	if m := modelOf(res, "object_counts"); m.Mode != ModeIncremental || m.Rows != 4 || m.Deleted != 3 {
		t.Errorf("late chunk: object_counts %+v, want the 12:00 bucket's 3 rows replaced by 4", m)
	}
	checkRows(t, ctx, pool, `SELECT object, frames, objects, avg_per_frame FROM analytics.object_counts
		WHERE stream_id = 'cam-a' AND bucket = '2024-05-01 12:00:00+00' ORDER BY object`, []string{
		"bike|3|2|0.6666666666666666", "car|3|1|0.3333333333333333", "dog|3|1|0.3333333333333333", "person|3|2|0.6666666666666666",
	})
	checkRows(t, ctx, pool, `SELECT frames, objects FROM analytics.stream_totals WHERE stream_id = 'cam-a'`, []string{"5|12"})
	checkHourly(t, pool)

	// A retried chunk re-detected differently: cap-a frame 3 (12:01:50)
	// now has one car and no person, and frame 2 nothing. Its frames are
	// deleted and re-inserted, as DetectChunk does; the people it no
	// longer has disappear from 12:01.
	redetect(t, pool, "cap-a", map[int][]fixDet{2: nil, 3: {{"car", 0.9}}})
	mustRun(t, p, pool, RunOptions{})
	checkRows(t, ctx, pool, `SELECT object, frames, objects FROM analytics.object_counts
		WHERE stream_id = 'cam-a' AND bucket = '2024-05-01 12:01:00+00' ORDER BY object`, []string{"car|2|1"})
	checkHourly(t, pool)

	// And when a bucket has no objects left at all, its rows go.
	redetect(t, pool, "cap-a", map[int][]fixDet{3: nil})
	mustRun(t, p, pool, RunOptions{})
	checkRows(t, ctx, pool, `SELECT count(*) FROM analytics.object_counts
		WHERE stream_id = 'cam-a' AND bucket = '2024-05-01 12:01:00+00'`, []string{"0"})
	checkRows(t, ctx, pool, `SELECT frames, objects FROM analytics.stream_buckets
		WHERE stream_id = 'cam-a' AND bucket = '2024-05-01 12:01:00+00'`, []string{"2|0"})
	incremental := snapshot(t, pool, p)

	// A full refresh agrees.
	res = mustRun(t, p, pool, RunOptions{FullRefresh: true})
	if modeOf(res, "object_counts") != ModeFull {
		t.Errorf("full refresh built object_counts as %s", modeOf(res, "object_counts"))
	}
	compareSnapshots(t, "incremental vs full refresh", incremental, snapshot(t, pool, p))

	// Other vars change what the model computes: it is rebuilt in full.
	res = mustRun(t, p, pool, RunOptions{Vars: map[string]string{"bucket": "'2 minutes'"}})
	if modeOf(res, "frame_object_counts") != ModeIncremental || modeOf(res, "stream_buckets") != ModeFull ||
		modeOf(res, "object_counts") != ModeFull {
		t.Errorf("bucket change: %+v, want full rebuilds of the bucketed models only", res.Models)
	}
	checkRows(t, ctx, pool, `SELECT bucket, frames FROM analytics.stream_buckets WHERE stream_id = 'cam-a'`, []string{"12:00:00|5"})
}

// redetect replaces the detections of some frames of a capture the way a
// retried DetectChunk does: delete the frames and write them again.
func redetect(t *testing.T, pool *pgxpool.Pool, captureID string, dets map[int][]fixDet) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for idx, ds := range dets {
			var streamID string
			var ts time.Time
			if err := tx.QueryRow(ctx, `SELECT stream_id, ts FROM frames WHERE capture_id = $1 AND frame_index = $2`,
				captureID, idx).Scan(&streamID, &ts); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM frames WHERE capture_id = $1 AND frame_index = $2`, captureID, idx); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO frames (capture_id, frame_index, stream_id, chunk_seq, pts_ms, ts, width, height,
				detection_count, model) VALUES ($1, $2, $3, 0, $4, $5, 640, 480, $6, 'fixture')`,
				captureID, idx, streamID, idx*1000, ts, len(ds)); err != nil {
				return err
			}
			for j, d := range ds {
				if _, err := tx.Exec(ctx, `INSERT INTO detections (capture_id, frame_index, det_index, stream_id, ts, class_id,
					class_name, score, x1, y1, x2, y2) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, 0, 0, 1, 1)`,
					captureID, idx, j, streamID, ts, d.class, d.score); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("redetect %s: %v", captureID, err)
	}
}

// TestIncrementalSeesLateCommits: a chunk written by a transaction that
// began before a run but commits after it carries an inserted_at before
// the run's watermark would be, were the watermark simply "now". The
// watermark stops at the oldest open transaction, so the next run, even
// with no lookback, still picks the chunk up.
func TestIncrementalSeesLateCommits(t *testing.T) {
	pool, _ := testenv.DB(t)
	ctx := context.Background()
	insertFixture(t, pool)
	p := projectWithLookback(t, "0s")
	mustRun(t, p, pool, RunOptions{})

	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `INSERT INTO frames (capture_id, frame_index, stream_id, chunk_seq, pts_ms, ts, width, height,
		detection_count, model) VALUES ('cap-b', 7, 'cam-b', 0, 7000, '2024-05-01 12:00:55+00', 640, 480, 1, 'fixture')`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO detections (capture_id, frame_index, det_index, stream_id, ts, class_id, class_name,
		score, x1, y1, x2, y2) VALUES ('cap-b', 7, 0, 'cam-b', '2024-05-01 12:00:55+00', 0, 'dog', 0.9, 0, 0, 1, 1)`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the run's clock moves past the insert
	res := mustRun(t, p, pool, RunOptions{})
	var started time.Time
	if err := tx.QueryRow(ctx, "SELECT now()").Scan(&started); err != nil {
		t.Fatal(err)
	}
	if res.Watermark.After(started) {
		t.Errorf("watermark %s is after the start %s of a transaction still open", res.Watermark, started)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	mustRun(t, p, pool, RunOptions{})
	checkRows(t, ctx, pool, `SELECT frames, objects FROM analytics.object_counts WHERE stream_id = 'cam-b' AND object = 'dog'`,
		[]string{"3|2"})
}

// TestSelectedAloneKeepsUpstreamWatermark: building an incremental model
// without the incremental model it reads must not move its watermark past
// what that model had seen, or the next run would skip the rows in between.
func TestSelectedAloneKeepsUpstreamWatermark(t *testing.T) {
	pool, _ := testenv.DB(t)
	ctx := context.Background()
	insertFixture(t, pool)
	p := projectWithLookback(t, "0s")
	mustRun(t, p, pool, RunOptions{})
	insertCapture(t, pool, "cam-b", "Parking", "cap-b2", 0, []fixFrame{{"12:00:40", []fixDet{{"dog", 0.9}}}})
	// stream_buckets and object_counts alone: frame_object_counts has not
	// seen the new frame, so the dog is missing for now...
	mustRun(t, p, pool, RunOptions{Select: []string{"stream_buckets", "object_counts"}})
	checkRows(t, ctx, pool, `SELECT frames, objects FROM analytics.object_counts WHERE stream_id = 'cam-b' AND object = 'dog'`,
		[]string{"3|1"})
	// ...and the next full run still re-derives that bucket.
	mustRun(t, p, pool, RunOptions{})
	checkRows(t, ctx, pool, `SELECT frames, objects FROM analytics.object_counts WHERE stream_id = 'cam-b' AND object = 'dog'`,
		[]string{"3|2"})
}

// propChunk is one chunk of frames as a detection activity writes it.
type propChunk struct {
	stream, capture string
	seq             int
	frames          []propFrame
}

type propFrame struct {
	index int
	ts    time.Time
	dets  []fixDet
}

var propClasses = []string{"person", "car", "dog", "bike"}

func randomDets(r *rand.Rand) []fixDet {
	var out []fixDet
	for range r.IntN(6) - 1 { // some frames are empty
		out = append(out, fixDet{propClasses[r.IntN(len(propClasses))], float32(r.IntN(100)) / 100})
	}
	return out
}

// writeChunk replaces a chunk's frames and detections in one transaction,
// as DetectChunk does (a retry deletes and re-inserts).
func writeChunk(t *testing.T, pool *pgxpool.Pool, c propChunk) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO streams (id, name, source) VALUES ($1, $1, 'x') ON CONFLICT DO NOTHING`, c.stream); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO captures (id, stream_id, source, chunk_frames, started_at)
			VALUES ($1, $2, 'x', 8, '2024-05-01 12:00:00+00') ON CONFLICT DO NOTHING`, c.capture, c.stream); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
			VALUES ($1, $2, $3, 'k', 0, 8, 0, 1) ON CONFLICT DO NOTHING`, c.capture, c.seq, c.stream); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM frames WHERE capture_id = $1 AND chunk_seq = $2`, c.capture, c.seq); err != nil {
			return err
		}
		var frames, dets [][]any
		for _, f := range c.frames {
			frames = append(frames, []any{c.capture, f.index, c.stream, c.seq, int64(f.index), f.ts, 640, 480, len(f.dets), "prop"})
			for j, d := range f.dets {
				dets = append(dets, []any{c.capture, f.index, int16(j), c.stream, f.ts, int16(0), d.class, d.score, 0, 0, 1, 1})
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"frames"}, []string{"capture_id", "frame_index", "stream_id", "chunk_seq",
			"pts_ms", "ts", "width", "height", "detection_count", "model"}, pgx.CopyFromRows(frames)); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"detections"}, []string{"capture_id", "frame_index", "det_index", "stream_id",
			"ts", "class_id", "class_name", "score", "x1", "y1", "x2", "y2"}, pgx.CopyFromRows(dets))
		return err
	})
	if err != nil {
		t.Fatalf("write chunk %s/%d: %v", c.capture, c.seq, err)
	}
}

// TestIncrementalEqualsFullRefresh is the property: whatever order chunks
// arrive in (late ones landing in buckets already rolled up), and however
// often a chunk is retried (re-detected differently, even), incremental
// runs after each delivery end with the same tables as one full refresh.
func TestIncrementalEqualsFullRefresh(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			pool, _ := testenv.DB(t)
			r := rand.New(rand.NewPCG(seed, 99))
			p := projectWithLookback(t, "0s")
			t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

			// 3 streams, 2 captures each, 5 chunks of 6 frames: 180 frames
			// over about 8 minutes, so chunks share and straddle buckets.
			var chunks []propChunk
			for s := range 3 {
				for c := range 2 {
					start := t0.Add(time.Duration(r.IntN(120)) * time.Second)
					for seq := range 5 {
						ch := propChunk{stream: fmt.Sprintf("s%d", s), capture: fmt.Sprintf("s%d-c%d", s, c), seq: seq}
						for i := range 6 {
							idx := seq*6 + i
							ts := start.Add(time.Duration(idx*15)*time.Second + time.Duration(r.IntN(1000))*time.Millisecond)
							ch.frames = append(ch.frames, propFrame{index: idx, ts: ts, dets: randomDets(r)})
						}
						chunks = append(chunks, ch)
					}
				}
			}
			// Deliveries: every chunk in a random order, plus retries of
			// random chunks, half of them re-detected differently.
			deliveries := slices.Clone(chunks)
			for range 8 {
				c := chunks[r.IntN(len(chunks))]
				if r.IntN(2) == 0 {
					c.frames = slices.Clone(c.frames)
					for i := range c.frames {
						c.frames[i].dets = randomDets(r)
					}
				}
				deliveries = append(deliveries, c)
			}
			r.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
			// Whichever delivery of a chunk comes last is its final state.
			runs := 0
			for i := 0; i < len(deliveries); {
				n := 1 + r.IntN(4) // a batch of 1 to 4 deliveries per run
				for _, c := range deliveries[i:min(i+n, len(deliveries))] {
					writeChunk(t, pool, c)
				}
				i += n
				res := mustRun(t, p, pool, RunOptions{})
				if runs > 0 && modeOf(res, "object_counts") != ModeIncremental {
					t.Fatalf("run %d built object_counts as %s", runs, modeOf(res, "object_counts"))
				}
				runs++
			}
			incremental := snapshot(t, pool, p)
			mustRun(t, p, pool, RunOptions{FullRefresh: true})
			full := snapshot(t, pool, p)
			compareSnapshots(t, fmt.Sprintf("seed %d, %d runs", seed, runs), incremental, full)
			if len(full["object_counts"]) == 0 || len(full["frame_object_counts"]) == 0 {
				t.Fatal("the generated data produced no rows: the property proves nothing")
			}
		})
	}
}

func TestDataTests(t *testing.T) {
	pool, _ := testenv.DB(t)
	ctx := context.Background()
	files := map[string]string{
		"kinds.sql": `{{ test('unique', 'kind') }}
SELECT * FROM (VALUES ('a'), ('b')) v(kind)`,
		"things.sql": `{{ config(materialized='table', unique_key='id') }}
{{ test('unique', 'id') }}
{{ test('not_null', 'id, kind') }}
{{ test('accepted_values', 'kind', values="'a', 'b'") }}
{{ test('relationships', 'kind', to='kinds', field='kind') }}
{{ test('expression', 'size >= 0', severity='warn') }}
SELECT * FROM (VALUES (1, 'a', 3), (1, 'b', -1), (NULL, 'c', 2), (2, 'a', 0)) v(id, kind, size)`,
		"tests/sizes_small.sql": "SELECT id, size FROM {{ ref('things') }} WHERE size > {{ var('max_size', '2') }}",
	}
	p := mustLoad(t, files)
	// The run stops at the first failing test of severity error, naming
	// the model, the test and failing rows.
	res, err := p.Run(ctx, pool, RunOptions{Logger: quiet})
	var tf *TestFailedError
	if !errors.As(err, &tf) {
		t.Fatalf("run: %v, want a failed test", err)
	}
	wantErr(t, err, "model things", "test things: accepted_values(kind in 'a', 'b')", "1 failing rows", `kind="c" rows=1`)
	if len(res.Models) != 2 || len(res.Tests) != 2 || !res.Tests[0].Passed() {
		t.Errorf("result %+v", res)
	}

	for name, want := range map[string]struct {
		failures int64
		sample   []string
	}{
		"kinds: unique(kind)":                       {0, nil},
		"things: unique(id)":                        {1, []string{"id=1 duplicates=2"}},
		"things: not_null(id, kind)":                {1, []string{`id=NULL kind="c" size=2`}},
		"things: relationships(kind -> kinds.kind)": {1, []string{`kind="c" rows=1`}},
		"things: expression(size >= 0)":             {1, []string{`id=1 kind="b" size=-1`}},
		"sizes_small":                               {1, []string{"id=1 size=3"}},
		"things: accepted_values(kind in 'a', 'b')": {1, []string{`kind="c" rows=1`}},
	} {
		tr, err := p.RunTest(ctx, pool, name, nil)
		if tr.Failures != want.failures || !slices.Equal(tr.Sample, want.sample) {
			t.Errorf("%s: %+v, want %d failures %q", name, tr, want.failures, want.sample)
		}
		warn := name == "things: expression(size >= 0)"
		if (err != nil) != (want.failures > 0 && !warn) {
			t.Errorf("%s: error %v", name, err)
		}
	}
	if tr, err := p.RunTest(ctx, pool, "sizes_small", map[string]string{"max_size": "5"}); err != nil || !tr.Passed() {
		t.Errorf("sizes_small with max_size 5: %+v %v", tr, err)
	}
	_, err = p.RunTest(ctx, pool, "nope", nil)
	wantErr(t, err, `unknown test "nope"`)

	// Selecting kinds alone runs its tests but not those of things.
	res, err = p.Run(ctx, pool, RunOptions{Logger: quiet, Select: []string{"kinds"}})
	if err != nil || len(res.Tests) != 1 {
		t.Errorf("select kinds: %+v %v", res, err)
	}
	// SkipTests builds everything.
	if _, err := p.Run(ctx, pool, RunOptions{Logger: quiet, SkipTests: true}); err != nil {
		t.Errorf("skip tests: %v", err)
	}
}

// TestIncrementalDataTestsCheckChangedPartitions: after an incremental
// build a model's tests check the partitions it replaced, so a bad row in
// an old partition goes unreported until a full build, while one in a
// changed partition fails the run.
func TestIncrementalDataTestsCheckChangedPartitions(t *testing.T) {
	pool, _ := testenv.DB(t)
	ctx := context.Background()
	insertFixture(t, pool)
	p := mustLoad(t, map[string]string{
		"buckets.sql": `{{ config(materialized='incremental', unique_key='stream_id, bucket', lookback='0s') }}
{{ test('unique', 'stream_id, bucket') }}
{{ test('not_null', 'stream_id, bucket, frames, max_dets') }}
{{ test('expression', 'max_dets < 10') }}
{{ test('unique', 'bucket, frames, max_dets', severity='warn') }}
WITH changed AS (
    SELECT DISTINCT stream_id, date_bin('1 minute', ts, timestamptz 'epoch') AS bucket
    FROM {{ source('sightline', 'frames') }} WHERE inserted_at >= {{ watermark() }}
)
SELECT c.stream_id, c.bucket, count(*) AS frames, max(f.detection_count) AS max_dets
FROM changed c
JOIN {{ source('sightline', 'frames') }} f ON f.stream_id = c.stream_id AND date_bin('1 minute', f.ts, timestamptz 'epoch') = c.bucket
GROUP BY 1, 2`,
		"tests/buckets_are_small.sql": `SELECT b.* FROM {{ ref('buckets') }} b JOIN {{ changed('buckets') }} c USING (stream_id, bucket) WHERE b.frames > 50`,
	})
	const expr = "buckets: expression(max_dets < 10)"
	scopes := func(res *RunResult) map[string]bool {
		out := map[string]bool{}
		for _, tr := range res.Tests {
			if !tr.Passed() && tr.Severity == SeverityError {
				t.Errorf("test %s failed: %+v", tr.Name, tr)
			}
			out[tr.Name] = tr.ChangedOnly
		}
		return out
	}
	res := mustRun(t, p, pool, RunOptions{})
	if sc := scopes(res); len(sc) != 5 || sc[expr] || sc["buckets_are_small"] {
		t.Errorf("full run: tests %v, want all 5 over every partition", sc)
	}

	// A bad row in an old partition: the source frame changes without
	// being rewritten, and the table row with it. After the full build
	// the test checks every partition and finds it.
	if _, err := pool.Exec(ctx, `UPDATE frames SET detection_count = 99 WHERE capture_id = 'cap-a' AND frame_index = 0;
		UPDATE analytics.buckets SET max_dets = 99 WHERE stream_id = 'cam-a' AND bucket = '2024-05-01 12:00:00+00'`); err != nil {
		t.Fatal(err)
	}
	tr, err := p.RunTest(ctx, pool, expr, nil)
	var tf *TestFailedError
	if !errors.As(err, &tf) || tr.Failures != 1 || tr.ChangedOnly {
		t.Fatalf("test after the full build: %+v %v, want the old partition's row", tr, err)
	}

	// New frames in another partition (cam-b 12:05): the incremental run
	// replaces that bucket only, and its tests check only it.
	insertCapture(t, pool, "cam-b", "Parking", "cap-b2", 0, []fixFrame{{"12:05:10", []fixDet{{"car", 0.9}}}, {"12:05:20", nil}})
	res = mustRun(t, p, pool, RunOptions{})
	if m := modelOf(res, "buckets"); m.Mode != ModeIncremental || m.Rows != 1 || m.Deleted != 0 {
		t.Errorf("incremental build %+v, want one new partition", m)
	}
	sc := scopes(res)
	for name, narrowed := range sc {
		// unique(bucket, frames, max_dets) lacks stream_id: a duplicate
		// could lie in another partition, so it checks every row.
		if want := name != "buckets: unique(bucket, frames, max_dets)"; narrowed != want {
			t.Errorf("incremental run: test %s checked only changed partitions: %v, want %v", name, narrowed, want)
		}
	}
	checkRows(t, ctx, pool, `SELECT stream_id, bucket FROM analytics_changed.buckets`, []string{"cam-b|12:05:00"})
	checkRows(t, ctx, pool, `SELECT max_dets FROM analytics.buckets WHERE stream_id = 'cam-a' AND bucket = '2024-05-01 12:00:00+00'`, []string{"99"})
	// Run on its own, as the RollupWorkflow does, the test looks the scope up.
	if tr, err := p.RunTest(ctx, pool, expr, nil); err != nil || !tr.Passed() || !tr.ChangedOnly {
		t.Errorf("test after the incremental build: %+v %v, want a pass over the changed partition", tr, err)
	}

	// A bad row inside the changed window fails the run, and names that
	// row only.
	if _, err := pool.Exec(ctx, `INSERT INTO frames (capture_id, frame_index, stream_id, chunk_seq, pts_ms, ts, width, height,
		detection_count, model) VALUES ('cap-b2', 2, 'cam-b', 0, 2000, '2024-05-01 12:06:00+00', 640, 480, 12, 'fixture')`); err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(ctx, pool, RunOptions{Logger: quiet})
	if !errors.As(err, &tf) || tf.Result.Name != expr || tf.Result.Failures != 1 || !tf.Result.ChangedOnly {
		t.Fatalf("incremental run with a bad row in the window: %v, want %s failing on it alone", err, expr)
	}
	wantErr(t, err, `stream_id="cam-b"`, "max_dets=12")

	// A full refresh checks everything again: both bad rows.
	_, err = p.Run(ctx, pool, RunOptions{Logger: quiet, FullRefresh: true})
	if !errors.As(err, &tf) || tf.Result.Failures != 2 || tf.Result.ChangedOnly {
		t.Fatalf("full refresh: %v, want both bad rows", err)
	}
	checkRows(t, ctx, pool, `SELECT to_regclass('analytics_changed.buckets') IS NULL`, []string{"true"})
}

// TestMergeRefusesNullPartitions: a batch row whose partition is NULL could
// never be replaced (the delete matches no NULL), so the merge fails.
func TestMergeRefusesNullPartitions(t *testing.T) {
	pool, _ := testenv.DB(t)
	p := mustLoad(t, map[string]string{"m.sql": `{{ config(materialized='incremental', unique_key='k, v', partition_by='k', lookback='0s') }}
SELECT k, 1 AS v FROM (VALUES ('a'), (CASE WHEN {{ is_incremental() }} THEN NULL ELSE 'b' END)) x(k)`})
	mustRun(t, p, pool, RunOptions{})
	_, err := p.Run(context.Background(), pool, RunOptions{Logger: quiet})
	wantErr(t, err, "model m", "no partition_by value is NULL", `column "k"`)
}

func TestDataTestDeclarationErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		parts []string
	}{
		{"unknown kind", map[string]string{"m.sql": "{{ test('fresh', 'a') }}SELECT 1 AS a"}, []string{"model m", `unknown test "fresh"`}},
		{"no columns", map[string]string{"m.sql": "{{ test('unique') }}SELECT 1 AS a"}, []string{"model m", "columns is required"}},
		{"bad column", map[string]string{"m.sql": "{{ test('not_null', 'a; DROP') }}SELECT 1 AS a"}, []string{"model m", "not a column"}},
		{"unknown target", map[string]string{"m.sql": "{{ test('relationships', 'a', to='ghost', field='a') }}SELECT 1 AS a"},
			[]string{"model m", "unknown model ghost"}},
		{"both targets", map[string]string{"m.sql": "{{ test('relationships', 'a', to='m', to_source='streams', field='a') }}SELECT 1 AS a"},
			[]string{"exactly one of to"}},
		{"bad severity", map[string]string{"m.sql": "{{ test('unique', 'a', severity='fatal') }}SELECT 1 AS a"}, []string{"severity"}},
		{"test without ref", map[string]string{"m.sql": "SELECT 1 AS a", "tests/t.sql": "SELECT 1"}, []string{"test t", "refs no model"}},
		{"test of unknown model", map[string]string{"m.sql": "SELECT 1 AS a", "tests/t.sql": "SELECT * FROM {{ ref('x') }}"},
			[]string{"test t", "unknown model x"}},
		{"duplicate", map[string]string{"m.sql": "{{ test('unique', 'a') }}{{ test('unique', 'a') }}SELECT 1 AS a"},
			[]string{"m: unique(a) declared twice"}},
		{"incremental without key", map[string]string{"m.sql": "{{ config(materialized='incremental') }}SELECT 1 AS a"},
			[]string{"model m", "unique_key"}},
		{"partition outside key", map[string]string{"m.sql": "{{ config(materialized='incremental', unique_key='a', partition_by='b') }}SELECT 1 AS a"},
			[]string{"model m", "partition_by column b"}},
		{"watermark in a table", map[string]string{"m.sql": "SELECT {{ watermark() }}"}, []string{"model m", "incremental"}},
		{"lookback on a table", map[string]string{"m.sql": "{{ config(lookback='1m') }}SELECT 1"}, []string{"model m", "lookback"}},
		{"state table name", map[string]string{"dbtlike_state.sql": "SELECT 1"}, []string{"dbtlike_state"}},
		{"changed in a model", map[string]string{"m.sql": "SELECT * FROM {{ changed('m') }} c"}, []string{"model m", "changed() is for tests"}},
		{"changed of a table", map[string]string{"m.sql": "SELECT 1 AS a", "tests/t.sql": "SELECT * FROM {{ changed('m') }} c"},
			[]string{"test t", "changed('m') needs an incremental model"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(mapFS(tc.files))
			wantErr(t, err, tc.parts...)
		})
	}
}
