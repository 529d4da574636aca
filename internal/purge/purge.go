// Package purge removes what Sightline stored: a capture (its chunk objects
// and every row hanging off it), a stream with its captures, and what a
// retention policy says has expired. Every operation is idempotent: a
// retried or interrupted one finishes the job, objects first and rows last,
// so a row never outlives nothing but points at a missing object.
//
// Removing rows changes what the rollups would compute; the caller runs a
// full refresh of the rollup models afterwards (the incremental models only
// notice new rows).
package purge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/objstore"
)

var (
	// ErrNotFound means there is no such capture or stream.
	ErrNotFound = errors.New("not found")
	// ErrRunning means a capture is still running: cancel it first.
	ErrRunning = errors.New("capture still running")
)

// Removed counts what an operation removed.
type Removed struct {
	Captures   int64 `json:"captures"`
	Chunks     int64 `json:"chunks"` // chunk objects removed from the object store
	Frames     int64 `json:"frames"`
	Detections int64 `json:"detections"`
	Gaps       int64 `json:"gaps"`
}

func (r *Removed) add(o Removed) {
	r.Captures += o.Captures
	r.Chunks += o.Chunks
	r.Frames += o.Frames
	r.Detections += o.Detections
	r.Gaps += o.Gaps
}

// capturePrefix is where a capture's chunks are stored (see chunk.Key).
func capturePrefix(streamID, captureID string) string {
	return "streams/" + streamID + "/captures/" + captureID + "/"
}

// Capture removes a capture that is not running: its chunk objects, then
// its capture, chunk, frame, detection and gap rows in one transaction.
func Capture(ctx context.Context, db *pgxpool.Pool, store *objstore.Store, id string) (Removed, error) {
	var stream, status string
	err := db.QueryRow(ctx, `SELECT stream_id, status FROM captures WHERE id = $1`, id).Scan(&stream, &status)
	if errors.Is(err, pgx.ErrNoRows) {
		return Removed{}, fmt.Errorf("capture %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Removed{}, fmt.Errorf("look up capture %q: %w", id, err)
	}
	if status == "running" {
		return Removed{}, fmt.Errorf("capture %q: %w", id, ErrRunning)
	}
	return remove(ctx, db, store, stream, id)
}

func remove(ctx context.Context, db *pgxpool.Pool, store *objstore.Store, stream, id string) (Removed, error) {
	var r Removed
	n, err := store.RemovePrefix(ctx, capturePrefix(stream, id))
	if err != nil {
		return r, fmt.Errorf("remove chunks of capture %q: %w", id, err)
	}
	r.Chunks = int64(n)
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT
  (SELECT count(*) FROM frames WHERE capture_id = $1),
  (SELECT count(*) FROM detections WHERE capture_id = $1),
  (SELECT count(*) FROM capture_gaps WHERE capture_id = $1)`, id).Scan(&r.Frames, &r.Detections, &r.Gaps); err != nil {
			return err
		}
		// Chunks, frames, detections and gaps go with it (ON DELETE CASCADE).
		tag, err := tx.Exec(ctx, `DELETE FROM captures WHERE id = $1 AND status <> 'running'`, id)
		r.Captures = tag.RowsAffected()
		return err
	})
	if err != nil {
		return r, fmt.Errorf("delete rows of capture %q: %w", id, err)
	}
	return r, nil
}

// CheckIdle returns ErrRunning, naming them, if captures of the stream
// are running.
func CheckIdle(ctx context.Context, db *pgxpool.Pool, streamID string) error {
	var running []string
	rows, err := db.Query(ctx, `SELECT id FROM captures WHERE stream_id = $1 AND status = 'running' ORDER BY id`, streamID)
	if err == nil {
		running, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return fmt.Errorf("list running captures of stream %q: %w", streamID, err)
	}
	if len(running) > 0 {
		return fmt.Errorf("stream %q: %w: %v", streamID, ErrRunning, running)
	}
	return nil
}

// Stream removes a stream with all its captures, none of which may be
// running. Its schedules are the caller's (they live in Temporal).
func Stream(ctx context.Context, db *pgxpool.Pool, store *objstore.Store, id string) (Removed, error) {
	var total Removed
	var exists bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM streams WHERE id = $1)`, id).Scan(&exists); err != nil {
		return total, fmt.Errorf("look up stream %q: %w", id, err)
	}
	if !exists {
		return total, fmt.Errorf("stream %q: %w", id, ErrNotFound)
	}
	if err := CheckIdle(ctx, db, id); err != nil {
		return total, err
	}
	rows, err := db.Query(ctx, `SELECT id FROM captures WHERE stream_id = $1 ORDER BY id`, id)
	var ids []string
	if err == nil {
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return total, fmt.Errorf("list captures of stream %q: %w", id, err)
	}
	for _, c := range ids {
		r, err := remove(ctx, db, store, id, c)
		if err != nil {
			return total, err
		}
		total.add(r)
	}
	// Anything left under the stream (a capture whose row never got written).
	if _, err := store.RemovePrefix(ctx, "streams/"+id+"/"); err != nil {
		return total, fmt.Errorf("remove objects of stream %q: %w", id, err)
	}
	// A capture started in between makes this fail on its foreign key: the
	// stream stays, and the caller can cancel it and retry.
	if _, err := db.Exec(ctx, `DELETE FROM streams WHERE id = $1`, id); err != nil {
		return total, fmt.Errorf("delete stream %q: %w", id, err)
	}
	return total, nil
}

// ExpireChunks removes the objects of up to limit chunks older than their
// stream's chunk retention, oldest first, and marks their rows expired: the
// frames' rows and detections stay. Only chunks detected (or skipped by
// realtime mode) expire, so a running capture loses nothing it still
// needs. It returns how many chunks
// expired; fewer than limit means none are left.
func ExpireChunks(ctx context.Context, db *pgxpool.Pool, store *objstore.Store, p contract.Retention, now time.Time, limit int) (int, error) {
	rows, err := db.Query(ctx, `
SELECT c.capture_id, c.seq, c.object_key
FROM chunks c JOIN streams s ON s.id = c.stream_id
WHERE c.expired_at IS NULL AND (c.detected_at IS NOT NULL OR c.skipped_at IS NOT NULL)
  AND coalesce(s.retain_chunks_days, $1) > 0
  AND c.written_at < $2::timestamptz - make_interval(days => coalesce(s.retain_chunks_days, $1))
ORDER BY c.written_at LIMIT $3`, p.ChunksDays, now, limit)
	if err != nil {
		return 0, fmt.Errorf("find expired chunks: %w", err)
	}
	type ref struct {
		capture string
		seq     int
		key     string
	}
	refs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ref, error) {
		var x ref
		return x, r.Scan(&x.capture, &x.seq, &x.key)
	})
	if err != nil {
		return 0, fmt.Errorf("find expired chunks: %w", err)
	}
	for _, r := range refs {
		if err := store.Remove(ctx, r.key); err != nil {
			return 0, fmt.Errorf("expire chunk %d of capture %q: %w", r.seq, r.capture, err)
		}
		if _, err := db.Exec(ctx, `UPDATE chunks SET expired_at = now() WHERE capture_id = $1 AND seq = $2`, r.capture, r.seq); err != nil {
			return 0, fmt.Errorf("mark chunk %d of capture %q expired: %w", r.seq, r.capture, err)
		}
	}
	return len(refs), nil
}

// ExpiredCaptures lists up to limit finished captures that ended longer
// ago than their stream's row retention, oldest first.
func ExpiredCaptures(ctx context.Context, db *pgxpool.Pool, p contract.Retention, now time.Time, limit int) ([]string, error) {
	rows, err := db.Query(ctx, `
SELECT c.id
FROM captures c JOIN streams s ON s.id = c.stream_id
WHERE c.status <> 'running' AND c.finished_at IS NOT NULL
  AND coalesce(s.retain_rows_days, $1) > 0
  AND c.finished_at < $2::timestamptz - make_interval(days => coalesce(s.retain_rows_days, $1))
ORDER BY c.finished_at, c.id LIMIT $3`, p.RowsDays, now, limit)
	if err != nil {
		return nil, fmt.Errorf("find expired captures: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("find expired captures: %w", err)
	}
	return ids, nil
}

// EventsKept is how long the live events of GET /api/v1/events are kept: a
// client away longer reloads instead of replaying.
const EventsKept = 7 * 24 * time.Hour

// ExpireEvents removes events older than EventsKept and returns how many.
func ExpireEvents(ctx context.Context, db *pgxpool.Pool, now time.Time) (int64, error) {
	tag, err := db.Exec(ctx, `DELETE FROM events WHERE at < $1`, now.Add(-EventsKept))
	if err != nil {
		return 0, fmt.Errorf("expire events: %w", err)
	}
	return tag.RowsAffected(), nil
}
