package purge

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/testenv"
)

// TestRetentionFollowsEachStreamsPolicy: streams "dflt" (the global policy)
// and "keep" (chunks forever, rows one day), with captures whose two chunks
// (one detected) were written 30 days ago, and a running capture.
func TestRetentionFollowsEachStreamsPolicy(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	store := testenv.Store(t)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO streams (id, name, source) VALUES ('dflt', 'dflt', '/v.avi')`)
	exec(`INSERT INTO streams (id, name, source, retain_chunks_days, retain_rows_days) VALUES ('keep', 'keep', '/v.avi', 0, 1)`)
	old := time.Now().Add(-30 * 24 * time.Hour)
	for _, c := range []struct{ stream, id, status string }{
		{"dflt", "c-dflt", "completed"}, {"keep", "c-keep", "completed"}, {"dflt", "c-run", "running"},
	} {
		exec(`INSERT INTO captures (id, stream_id, status, source, chunk_frames, started_at, finished_at)
			VALUES ($1, $2, $3, '/v.avi', 1, $4, CASE WHEN $3 = 'running' THEN NULL ELSE $4::timestamptz END)`, c.id, c.stream, c.status, old)
		for seq := range 2 {
			key := capturePrefix(c.stream, c.id) + "chunks/" + string(rune('0'+seq)) + ".tar"
			if err := store.Put(ctx, key, []byte("x"), "application/x-tar"); err != nil {
				t.Fatal(err)
			}
			detected := seq == 0
			exec(`INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms, written_at, detected_at)
				VALUES ($1, $2, $3, $4, $2, 1, 0, 0, $5, CASE WHEN $6 THEN now() END)`, c.id, seq, c.stream, key, old, detected)
			exec(`INSERT INTO frames (capture_id, frame_index, stream_id, chunk_seq, pts_ms, ts, width, height, detection_count, model)
				VALUES ($1, $2, $3, $2, 0, $4, 1, 1, 0, 'm')`, c.id, seq, c.stream, old)
		}
	}
	policy := contract.Retention{ChunksDays: 7, RowsDays: 365}

	// Chunks: only detected ones of streams without "keep forever".
	n, err := ExpireChunks(ctx, db, store, policy, time.Now(), 100)
	if err != nil || n != 2 {
		t.Fatalf("ExpireChunks = %d, %v; want the detected chunks of c-dflt and c-run", n, err)
	}
	var expired []string
	rows, _ := db.Query(ctx, `SELECT capture_id || '/' || seq FROM chunks WHERE expired_at IS NOT NULL ORDER BY 1`)
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		expired = append(expired, s)
	}
	if len(expired) != 2 || expired[0] != "c-dflt/0" || expired[1] != "c-run/0" {
		t.Fatalf("expired chunks %v", expired)
	}
	if _, err := store.Get(ctx, capturePrefix("dflt", "c-dflt")+"chunks/0.tar"); err == nil {
		t.Error("an expired chunk's object is still there")
	}
	if _, err := store.Get(ctx, capturePrefix("keep", "c-keep")+"chunks/0.tar"); err != nil {
		t.Errorf("a kept chunk's object went: %v", err)
	}
	if n, err := ExpireChunks(ctx, db, store, policy, time.Now(), 100); err != nil || n != 0 {
		t.Errorf("second ExpireChunks = %d, %v; want nothing", n, err)
	}

	// Rows: only c-keep, whose stream keeps rows one day; never a running capture.
	ids, err := ExpiredCaptures(ctx, db, policy, time.Now(), 100)
	if err != nil || len(ids) != 1 || ids[0] != "c-keep" {
		t.Fatalf("ExpiredCaptures = %v, %v; want [c-keep]", ids, err)
	}
	ids, _ = ExpiredCaptures(ctx, db, contract.Retention{RowsDays: 1}, time.Now(), 100)
	if len(ids) != 2 {
		t.Errorf("with rows_days 1 everywhere: %v, want c-dflt and c-keep (not the running one)", ids)
	}

	// Removing one capture leaves the others whole.
	if _, err := Capture(ctx, db, store, "c-run"); !errors.Is(err, ErrRunning) {
		t.Errorf("removing a running capture: %v", err)
	}
	r, err := Capture(ctx, db, store, "c-keep")
	if err != nil || r.Captures != 1 || r.Frames != 2 || r.Chunks != 2 {
		t.Fatalf("Capture(c-keep) = %+v, %v", r, err)
	}
	if _, err := Capture(ctx, db, store, "c-keep"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing it again: %v", err)
	}
	var frames, captures int
	_ = db.QueryRow(ctx, `SELECT (SELECT count(*) FROM frames), (SELECT count(*) FROM captures)`).Scan(&frames, &captures)
	if frames != 4 || captures != 2 {
		t.Errorf("%d frames and %d captures left, want 4 and 2", frames, captures)
	}
	if _, err := store.Get(ctx, capturePrefix("dflt", "c-dflt")+"chunks/1.tar"); err != nil {
		t.Errorf("another capture's object went: %v", err)
	}

	// Events (written by triggers as the rows above changed) are kept a week.
	exec(`UPDATE events SET at = now() - interval '8 days' WHERE capture_id = 'c-keep'`)
	if n, err := ExpireEvents(ctx, db, time.Now()); err != nil || n == 0 {
		t.Errorf("ExpireEvents = %d, %v; want c-keep's events", n, err)
	}
	var left int
	_ = db.QueryRow(ctx, `SELECT count(*) FROM events WHERE capture_id = 'c-keep'`).Scan(&left)
	if left != 0 {
		t.Errorf("%d old events left", left)
	}

	// A stream with a running capture stays; without, it goes whole.
	if _, err := Stream(ctx, db, store, "dflt"); !errors.Is(err, ErrRunning) {
		t.Errorf("removing a stream with a running capture: %v", err)
	}
	if r, err := Stream(ctx, db, store, "keep"); err != nil || r.Captures != 0 {
		t.Errorf("Stream(keep) = %+v, %v", r, err)
	}
	if _, err := Stream(ctx, db, store, "keep"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing it again: %v", err)
	}
}
