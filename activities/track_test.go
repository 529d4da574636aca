package activities

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/testsuite"

	"github.com/sightline-video/sightline/internal/counting"
	"github.com/sightline-video/sightline/internal/tracking"
)

// storeWalkers writes the frame and detection rows DetectChunk would write
// for a scene of chunks x 10 frames: three people walk down across y=200 at
// different speeds, one walks up, and frame 12 has no detections at all.
func storeWalkers(t *testing.T, a *Activities, captureID string, chunks int) {
	t.Helper()
	ctx := context.Background()
	var frames, dets [][]any
	for i := range chunks * 10 {
		ts := started.Add(time.Duration(i) * 100 * time.Millisecond)
		n := 0
		if i != 12 {
			for p := range 4 {
				x := float32(60 + 120*p)
				y := float32(20 + 6*i + 8*p)
				if p == 3 {
					y = float32(300 - 6*i)
				}
				dets = append(dets, []any{captureID, i, int16(p), "plaza", ts, int16(0), "person", float32(0.9), x, y, x + 40, y + 100})
				n++
			}
		}
		frames = append(frames, []any{captureID, i, "plaza", i / 10, int64(i) * 100, ts, 640, 480, n, "m"})
	}
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		for seq := range chunks {
			if _, err := tx.Exec(ctx, `INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
				VALUES ($1, $2, 'plaza', 'k', $3, 10, $4, $5)`, captureID, seq, seq*10, seq*1000, seq*1000+900); err != nil {
				return err
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"frames"}, []string{"capture_id", "frame_index", "stream_id",
			"chunk_seq", "pts_ms", "ts", "width", "height", "detection_count", "model"}, pgx.CopyFromRows(frames)); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"detections"}, []string{"capture_id", "frame_index", "det_index",
			"stream_id", "ts", "class_id", "class_name", "score", "x1", "y1", "x2", "y2"}, pgx.CopyFromRows(dets))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func walkersTracking() *tracking.Config {
	return &tracking.Config{Config: counting.Config{
		Lines: []counting.Line{{Name: "line", From: counting.Point{X: 0, Y: 200}, To: counting.Point{X: 640, Y: 200}}},
		Zones: []counting.Zone{{Name: "band", Points: []counting.Point{{X: 0, Y: 150}, {X: 640, Y: 150}, {X: 640, Y: 260}, {X: 0, Y: 260}}}},
	}}
}

func runTrack(t *testing.T, a *Activities, in TrackInput) (TrackResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a.TrackChunk)
	val, err := env.ExecuteActivity(a.TrackChunk, in)
	var r TrackResult
	if err == nil {
		err = val.Get(&r)
	}
	return r, err
}

func finishTrack(t *testing.T, a *Activities, in FinishTrackingInput) TrackResult {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a.FinishTracking)
	val, err := env.ExecuteActivity(a.FinishTracking, in)
	if err != nil {
		t.Fatal(err)
	}
	var r TrackResult
	if err := val.Get(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// trackRows is everything tracking wrote for a capture, as comparable text.
func trackRows(t *testing.T, a *Activities, captureID string) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT frame_index, det_index, track_id FROM detections WHERE capture_id = $1 ORDER BY 1, 2`,
		`SELECT track_id, class_name, first_frame, last_frame, frames_seen, zones FROM tracks WHERE capture_id = $1 ORDER BY 1`,
		`SELECT line, track_id, direction, class_name, frame_index FROM crossings WHERE capture_id = $1 ORDER BY 1, 2, 3`,
		`SELECT zone, track_id, enter_frame, exit_frame, dwell_ms FROM zone_visits WHERE capture_id = $1 ORDER BY 1, 2, 3`,
		`SELECT frame_index, zone, class_name, count FROM zone_occupancy WHERE capture_id = $1 ORDER BY 1, 2, 3`,
	} {
		rows, err := a.DB.Query(context.Background(), q, captureID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

// TestTrackChunkInOrderOnceAndResumable: chunks are tracked in order, a
// retried chunk changes nothing, a chunk out of order is refused, and a
// capture tracked with a fresh worker per chunk (a crash between each)
// stores exactly the rows of one tracked in one go.
func TestTrackChunkInOrderOnceAndResumable(t *testing.T) {
	a := newActs(t)
	const chunks = 5
	var want string
	for _, id := range []string{"cap-track-a", "cap-track-b"} {
		a.begin(t, id, "/v.avi")
		storeWalkers(t, a, id, chunks)
		in := TrackInput{CaptureID: id, StreamID: "plaza", StartedAt: started, Tracking: walkersTracking()}
		if id == "cap-track-b" {
			in.Seq = 2
			if _, err := runTrack(t, a, in); err == nil || !strings.Contains(err.Error(), "not tracked yet") {
				t.Errorf("chunk 2 before chunk 0: %v", err)
			}
		}
		var last TrackResult
		for seq := range chunks {
			in.Seq = seq
			acts := a
			if id == "cap-track-b" {
				acts = &Activities{DB: a.DB} // a new worker for every chunk
			}
			r, err := runTrack(t, acts, in)
			if err != nil {
				t.Fatalf("%s chunk %d: %v", id, seq, err)
			}
			if id == "cap-track-b" && seq == 3 { // a retry of a chunk already written
				before := trackRows(t, a, id)
				if _, err := runTrack(t, acts, in); err != nil {
					t.Fatal(err)
				}
				if after := trackRows(t, a, id); after != before {
					t.Errorf("retrying chunk 3 changed the rows:\n%s\nthen\n%s", before, after)
				}
			}
			last = r
		}
		fin := finishTrack(t, a, FinishTrackingInput{CaptureID: id, StreamID: "plaza", StartedAt: started, Tracking: walkersTracking()})
		finishTrack(t, a, FinishTrackingInput{CaptureID: id, StreamID: "plaza", StartedAt: started, Tracking: walkersTracking()})
		if last.Tracks != 4 || fin.Tracks != 4 || fin.Crossings != 4 {
			t.Errorf("%s: after the chunks %+v, finished %+v; want 4 tracks and 4 crossings", id, last, fin)
		}
		got := trackRows(t, a, id)
		if want == "" {
			want = got
		} else if got != want {
			t.Errorf("tracked with a crash between chunks:\n%s\nundisturbed:\n%s", got, want)
		}
	}
	n := func(q string) int {
		var n int
		if err := a.DB.QueryRow(context.Background(), q, "cap-track-a").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := n(`SELECT count(*) FROM detections WHERE capture_id = $1 AND track_id IS NULL`); got != 0 {
		t.Errorf("%d detections without a track", got)
	}
	if got := n(`SELECT count(*) FROM crossings WHERE capture_id = $1 AND direction = 'in'`); got != 3 {
		t.Errorf("%d crossings in, want 3", got)
	}
	if got := n(`SELECT count(*) FROM zone_visits WHERE capture_id = $1 AND exit_frame IS NOT NULL AND dwell_ms > 0`); got != 4 {
		t.Errorf("%d closed zone visits, want 4", got)
	}
	if got := n(`SELECT count(*) FROM tracks WHERE capture_id = $1 AND zones = '{band}'`); got != 4 {
		t.Errorf("%d tracks that visited the band, want 4", got)
	}
	if got := n(`SELECT max(count) FROM zone_occupancy WHERE capture_id = $1`); got < 2 {
		t.Errorf("the band never held more than %d people", got)
	}
	// Other lines for the same capture: its saved state refuses them.
	other := walkersTracking()
	other.Lines[0].To.Y = 300
	if _, err := runTrack(t, a, TrackInput{CaptureID: "cap-track-a", StreamID: "plaza", Seq: chunks - 1, StartedAt: started,
		Tracking: other}); err == nil {
		t.Error("a capture's tracking resumed under other lines")
	}
}
