package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/sightline-video/sightline/internal/counting"
	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/tracking"
)

// TrackInput names a detected chunk to track. Chunks of a capture are
// tracked one at a time, in order.
type TrackInput struct {
	CaptureID string           `json:"capture_id"`
	StreamID  string           `json:"stream_id"`
	Seq       int              `json:"seq"`
	StartedAt time.Time        `json:"started_at"`
	Tracking  *tracking.Config `json:"tracking,omitempty"` // nil: the defaults, nothing to count
}

// TrackResult is a capture's tracking so far.
type TrackResult struct {
	Tracks    int `json:"tracks"`    // confirmed tracks
	Crossings int `json:"crossings"` // line crossings counted
}

// TrackChunk runs the capture's tracker and counter over a detected chunk's
// frames, starting from the state the previous chunk left, and writes in
// one transaction: each detection's track id, the tracks, crossings, zone
// visits and occupancy, and the new state. A retry of a chunk already
// written changes nothing, so a worker killed at any point resumes with
// exactly the tracks an undisturbed run has.
func (a *Activities) TrackChunk(ctx context.Context, in TrackInput) (TrackResult, error) {
	what := fmt.Sprintf("track capture %s chunk %d", in.CaptureID, in.Seq)
	defer beating(ctx)()
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		f, st, err := loadFollower(ctx, tx, in.CaptureID, in.Tracking)
		if err != nil {
			return err
		}
		switch {
		case st.next > in.Seq:
			return nil // written by an earlier attempt
		case st.next < in.Seq:
			return fmt.Errorf("chunk %d is not tracked yet", st.next)
		}
		frames, err := chunkFrames(ctx, tx, in.CaptureID, in.Seq)
		if err != nil {
			return err
		}
		w := newTrackWriter(in)
		for _, fr := range frames {
			r := f.Next(fr.Frame)
			w.add(fr, r)
		}
		if err := w.write(ctx, tx); err != nil {
			return err
		}
		return saveFollower(ctx, tx, in.CaptureID, in.Seq+1, false, f)
	})
	if err != nil {
		var bad *badStateError
		if errors.As(err, &bad) {
			return TrackResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", what, err), "BadTrackState", err)
		}
		return TrackResult{}, fmt.Errorf("%s: %w", what, err)
	}
	return a.trackResult(ctx, in.CaptureID)
}

// FinishTrackingInput ends a capture's tracking.
type FinishTrackingInput struct {
	CaptureID string           `json:"capture_id"`
	StreamID  string           `json:"stream_id"`
	StartedAt time.Time        `json:"started_at"`
	Tracking  *tracking.Config `json:"tracking,omitempty"`
}

// FinishTracking closes the zone visits of tracks still inside a zone at
// the end of the capture, once.
func (a *Activities) FinishTracking(ctx context.Context, in FinishTrackingInput) (TrackResult, error) {
	defer beating(ctx)()
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		f, st, err := loadFollower(ctx, tx, in.CaptureID, in.Tracking)
		if err != nil {
			return err
		}
		if !st.saved || st.finished {
			return nil // nothing was tracked, or this ran before
		}
		w := newTrackWriter(TrackInput{CaptureID: in.CaptureID, StreamID: in.StreamID, StartedAt: in.StartedAt})
		w.events(f.Finish())
		if err := w.write(ctx, tx); err != nil {
			return err
		}
		return saveFollower(ctx, tx, in.CaptureID, st.next, true, f)
	})
	if err != nil {
		return TrackResult{}, fmt.Errorf("finish tracking capture %s: %w", in.CaptureID, err)
	}
	return a.trackResult(ctx, in.CaptureID)
}

// beating heartbeats details every second until stopped, so that a worker
// killed in the middle of a short activity, or of a long wait, is noticed
// within the heartbeat timeout rather than its start-to-close timeout.
func beating(ctx context.Context, details ...any) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				activity.RecordHeartbeat(ctx, details...)
			}
		}
	}()
	return func() { close(done) }
}

func (a *Activities) trackResult(ctx context.Context, captureID string) (TrackResult, error) {
	var r TrackResult
	err := a.DB.QueryRow(ctx, `SELECT (SELECT count(*) FROM tracks WHERE capture_id = $1),
		(SELECT count(*) FROM crossings WHERE capture_id = $1)`, captureID).Scan(&r.Tracks, &r.Crossings)
	if err != nil {
		return r, fmt.Errorf("count tracks of capture %s: %w", captureID, err)
	}
	return r, nil
}

// badStateError is a saved state that cannot be restored: retrying cannot help.
type badStateError struct{ err error }

func (e *badStateError) Error() string { return e.err.Error() }
func (e *badStateError) Unwrap() error { return e.err }

// savedState is where a capture's tracking stands.
type savedState struct {
	saved    bool // a chunk was tracked
	next     int  // the next chunk to track
	finished bool // FinishTracking ran
}

// loadFollower locks the capture's tracking state and restores it with
// settings (nil: the defaults), or starts afresh before the first chunk.
func loadFollower(ctx context.Context, tx pgx.Tx, captureID string, settings *tracking.Config) (*tracking.Follower, savedState, error) {
	var cfg tracking.Config
	if settings != nil {
		cfg = *settings
	}
	var st savedState
	var state []byte
	err := tx.QueryRow(ctx, `SELECT next_chunk, finished, state::text FROM track_state WHERE capture_id = $1 FOR UPDATE`,
		captureID).Scan(&st.next, &st.finished, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		f, err := tracking.New(cfg)
		if err != nil {
			return nil, st, &badStateError{err}
		}
		return f, st, nil
	}
	if err != nil {
		return nil, st, fmt.Errorf("read tracking state: %w", err)
	}
	st.saved = true
	f, err := tracking.Restore(cfg, state)
	if err != nil {
		return nil, st, &badStateError{err}
	}
	return f, st, nil
}

func saveFollower(ctx context.Context, tx pgx.Tx, captureID string, next int, finished bool, f *tracking.Follower) error {
	state, err := f.State()
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO track_state (capture_id, next_chunk, finished, state) VALUES ($1, $2, $3, $4::json)
		ON CONFLICT (capture_id) DO UPDATE SET next_chunk = $2, finished = $3, state = $4::json, updated_at = now()`,
		captureID, next, finished, string(state))
	if err != nil {
		return fmt.Errorf("save tracking state: %w", err)
	}
	return nil
}

// storedFrame is an analysed frame of a chunk with its detections, as stored.
type storedFrame struct {
	tracking.Frame
	ts time.Time
}

// chunkFrames reads a chunk's analysed frames in order, each with its
// detections in the detector's order: the tracker's input is exactly what
// was stored, whichever worker stored it. A skipped chunk has none.
func chunkFrames(ctx context.Context, tx pgx.Tx, captureID string, seq int) ([]storedFrame, error) {
	rows, err := tx.Query(ctx, `SELECT f.frame_index, f.pts_ms, f.ts, d.class_id, d.class_name, d.score, d.x1, d.y1, d.x2, d.y2
		FROM frames f LEFT JOIN detections d USING (capture_id, frame_index)
		WHERE f.capture_id = $1 AND f.chunk_seq = $2 ORDER BY f.frame_index, d.det_index`, captureID, seq)
	if err != nil {
		return nil, fmt.Errorf("read chunk %d's detections: %w", seq, err)
	}
	defer rows.Close()
	var out []storedFrame
	for rows.Next() {
		var (
			idx     int
			pts     int64
			ts      time.Time
			classID *int16
			class   *string
			score   *float32
			box     [4]*float32
		)
		if err := rows.Scan(&idx, &pts, &ts, &classID, &class, &score, &box[0], &box[1], &box[2], &box[3]); err != nil {
			return nil, fmt.Errorf("read chunk %d's detections: %w", seq, err)
		}
		if len(out) == 0 || out[len(out)-1].Index != idx {
			out = append(out, storedFrame{Frame: tracking.Frame{Frame: counting.Frame{Index: idx, PTSms: pts}}, ts: ts})
		}
		if classID != nil {
			fr := &out[len(out)-1]
			fr.Detections = append(fr.Detections, detector.Detection{ClassID: int(*classID), Class: *class, Score: *score,
				Box: [4]float32{*box[0], *box[1], *box[2], *box[3]}})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read chunk %d's detections: %w", seq, err)
	}
	if len(out) == 0 {
		// Realtime mode skipped it: nothing to track, and the tracker goes
		// on with the next chunk as after frames with nothing in them.
		var skipped bool
		err := tx.QueryRow(ctx, `SELECT skipped_at IS NOT NULL FROM chunks WHERE capture_id = $1 AND seq = $2`, captureID, seq).Scan(&skipped)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("read chunk %d: %w", seq, err)
		}
		if !skipped {
			return nil, fmt.Errorf("chunk %d has no analysed frames: it is not detected", seq)
		}
	}
	return out, nil
}

// trackWriter gathers a chunk's tracking rows.
type trackWriter struct {
	in        TrackInput
	detFrame  []int32
	detIndex  []int16
	detTrack  []int64
	tracks    map[int64]*trackRow
	order     []int64
	crossings [][]any
	entries   [][]any
	exits     [][]any
	occ       [][]any
}

type trackRow struct {
	class           string
	first, last     int
	firstTS, lastTS time.Time
	seen            int
	zones           []string
}

func newTrackWriter(in TrackInput) *trackWriter {
	return &trackWriter{in: in, tracks: map[int64]*trackRow{}}
}

func (w *trackWriter) ts(pts int64) time.Time {
	return w.in.StartedAt.Add(time.Duration(pts) * time.Millisecond)
}

func (w *trackWriter) add(fr storedFrame, r tracking.Result) {
	for j, id := range r.IDs {
		if id == 0 {
			continue
		}
		w.detFrame = append(w.detFrame, int32(fr.Index))
		w.detIndex = append(w.detIndex, int16(j))
		w.detTrack = append(w.detTrack, id)
		t := w.tracks[id]
		if t == nil {
			t = &trackRow{class: fr.Detections[j].Class, first: fr.Index, firstTS: fr.ts}
			w.tracks[id] = t
			w.order = append(w.order, id)
		}
		t.last, t.lastTS = fr.Index, fr.ts
		t.seen++
	}
	w.events(r.Events)
	for _, o := range r.Events.Occupancy {
		w.occ = append(w.occ, []any{w.in.CaptureID, fr.Index, o.Zone, o.Class, w.in.StreamID, fr.ts, o.Count})
	}
}

func (w *trackWriter) events(ev counting.Events) {
	for _, c := range ev.Crossings {
		w.crossings = append(w.crossings, []any{w.in.CaptureID, c.Line, c.TrackID, c.Direction, w.in.StreamID, c.Class, c.Frame, w.ts(c.PTSms)})
	}
	for _, e := range ev.Entries {
		w.entries = append(w.entries, []any{w.in.CaptureID, e.Zone, e.TrackID, e.EnterFrame, w.in.StreamID, e.Class, w.ts(e.EnterMS)})
		// A track enters on a frame it was seen in, so add has its row.
		if t := w.tracks[e.TrackID]; t != nil && !slices.Contains(t.zones, e.Zone) {
			t.zones = append(t.zones, e.Zone)
		}
	}
	for _, x := range ev.Exits {
		w.exits = append(w.exits, []any{w.in.CaptureID, x.Zone, x.TrackID, x.EnterFrame, w.in.StreamID, x.Class,
			w.ts(x.EnterMS), x.ExitFrame, w.ts(x.ExitMS), x.DwellMS})
	}
}

// write sends the chunk's rows in one round trip (and the occupancy by COPY).
func (w *trackWriter) write(ctx context.Context, tx pgx.Tx) error {
	id := w.in.CaptureID
	var b pgx.Batch
	if len(w.detTrack) > 0 {
		b.Queue(`UPDATE detections d SET track_id = u.track_id
			FROM unnest($2::int[], $3::smallint[], $4::bigint[]) AS u(frame_index, det_index, track_id)
			WHERE d.capture_id = $1 AND d.frame_index = u.frame_index AND d.det_index = u.det_index`,
			id, w.detFrame, w.detIndex, w.detTrack)
	}
	for _, tid := range w.order {
		t := w.tracks[tid]
		if t.zones == nil {
			t.zones = []string{}
		}
		// The chunk's part of the track: added to what earlier chunks wrote.
		b.Queue(`INSERT INTO tracks AS t (capture_id, track_id, stream_id, class_name, first_frame, last_frame,
				first_ts, last_ts, frames_seen, zones)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, ARRAY(SELECT DISTINCT z FROM unnest($10::text[]) z ORDER BY z))
			ON CONFLICT (capture_id, track_id) DO UPDATE SET last_frame = EXCLUDED.last_frame, last_ts = EXCLUDED.last_ts, inserted_at = now(),
				frames_seen = t.frames_seen + EXCLUDED.frames_seen,
				zones = ARRAY(SELECT DISTINCT z FROM unnest(t.zones || EXCLUDED.zones) z ORDER BY z)`,
			id, tid, w.in.StreamID, t.class, t.first, t.last, t.firstTS, t.lastTS, t.seen, t.zones)
	}
	for _, r := range w.crossings {
		b.Queue(`INSERT INTO crossings (capture_id, line, track_id, direction, stream_id, class_name, frame_index, ts)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, r...)
	}
	for _, r := range w.entries {
		b.Queue(`INSERT INTO zone_visits (capture_id, zone, track_id, enter_frame, stream_id, class_name, enter_ts)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, r...)
	}
	// After the entries: a visit may begin and end in one chunk.
	for _, r := range w.exits {
		b.Queue(`INSERT INTO zone_visits AS v (capture_id, zone, track_id, enter_frame, stream_id, class_name,
				enter_ts, exit_frame, exit_ts, dwell_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (capture_id, zone, track_id, enter_frame) DO UPDATE SET exit_frame = EXCLUDED.exit_frame,
				exit_ts = EXCLUDED.exit_ts, dwell_ms = EXCLUDED.dwell_ms, inserted_at = now()`, r...)
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("write tracks, crossings and zone visits: %w", err)
		}
	}
	if len(w.occ) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"zone_occupancy"}, []string{"capture_id", "frame_index", "zone",
			"class_name", "stream_id", "ts", "count"}, pgx.CopyFromRows(w.occ)); err != nil {
			return fmt.Errorf("write zone occupancy: %w", err)
		}
	}
	return nil
}
