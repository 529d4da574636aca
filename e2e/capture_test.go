package e2e

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"context"
	"fmt"
	"github.com/jackc/pgx/v5"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/counting"
	"github.com/sightline-video/sightline/internal/testenv"
	"github.com/sightline-video/sightline/internal/tracking"
	"github.com/sightline-video/sightline/workflows"
)

// rows returns a capture's frame and detection rows as comparable text,
// without the capture id and the capture's wall-clock start.
func (s *stack) rows(captureID string) (frames, dets []string) {
	s.t.Helper()
	ctx := context.Background()
	q := func(sql string) []string {
		rs, err := s.db.Query(ctx, sql, captureID)
		if err != nil {
			s.t.Fatalf("query rows: %v", err)
		}
		defer rs.Close()
		var out []string
		for rs.Next() {
			vals, err := rs.Values()
			if err != nil {
				s.t.Fatal(err)
			}
			out = append(out, fmt.Sprint(vals...))
		}
		if err := rs.Err(); err != nil {
			s.t.Fatal(err)
		}
		return out
	}
	frames = q(`SELECT frame_index, ' ', chunk_seq, ' ', pts_ms, ' ', width, 'x', height, ' ', detection_count, ' ', model
		FROM frames WHERE capture_id = $1 ORDER BY frame_index`)
	dets = q(`SELECT frame_index, ' ', det_index, ' ', class_id, ' ', class_name, ' ', score, ' ', x1, ' ', y1, ' ', x2, ' ', y2,
		' ', track_id FROM detections WHERE capture_id = $1 ORDER BY frame_index, det_index`)
	return frames, dets
}

// trackRows returns what tracking stored for a capture, as comparable text.
func (s *stack) trackRows(captureID string) (tracks, counts []string) {
	s.t.Helper()
	q := func(sql string) []string {
		var out []string
		rows, err := s.db.Query(context.Background(), sql, captureID)
		if err != nil {
			s.t.Fatalf("query track rows: %v", err)
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				s.t.Fatal(err)
			}
			out = append(out, line)
		}
		return out
	}
	tracks = q(`SELECT concat_ws(' ', track_id, class_name, first_frame, last_frame, frames_seen, zones::text)
		FROM tracks WHERE capture_id = $1 ORDER BY track_id`)
	counts = q(`SELECT concat_ws(' ', 'crossing', line, track_id, direction, class_name, frame_index) FROM crossings WHERE capture_id = $1
		UNION ALL SELECT concat_ws(' ', 'visit', zone, track_id, enter_frame, exit_frame, dwell_ms) FROM zone_visits WHERE capture_id = $1
		UNION ALL SELECT concat_ws(' ', 'occupancy', frame_index, zone, class_name, count) FROM zone_occupancy WHERE capture_id = $1
		ORDER BY 1`)
	return tracks, counts
}

// plazaTracking counts people crossing the middle of vtest.avi's plaza and
// walking in its centre.
func plazaTracking() *tracking.Config {
	return &tracking.Config{Config: counting.Config{
		Lines: []counting.Line{{Name: "middle", From: counting.Point{X: 0, Y: 330}, To: counting.Point{X: 768, Y: 330}}},
		Zones: []counting.Zone{{Name: "centre", Points: []counting.Point{{X: 200, Y: 200}, {X: 600, Y: 200}, {X: 600, Y: 500}, {X: 200, Y: 500}}}},
	}}
}

func (s *stack) runCapture(c client.Client, id string, in contract.CaptureInput) client.WorkflowRun {
	s.t.Helper()
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: s.queue},
		workflows.CaptureWorkflow, in)
	if err != nil {
		s.t.Fatalf("start %s: %v", id, err)
	}
	return run
}

func getResult(t *testing.T, run client.WorkflowRun, timeout time.Duration) contract.CaptureResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var res contract.CaptureResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("workflow %s: %v", run.GetID(), err)
	}
	return res
}

// TestWorkerCrashesLoseAndDoubleNothing captures the same video twice: once
// undisturbed, once with the worker killed (SIGKILL) during capture and again
// during detection. Both runs must end with exactly the same rows.
func TestWorkerCrashesLoseAndDoubleNothing(t *testing.T) {
	s := newStack(t)
	tc := testenv.Temporal(t)
	video := testenv.SharedFile(t, "vtest.avi")
	in := contract.CaptureInput{StreamID: "plaza", Source: video, Settings: contract.Settings{ChunkFrames: 15, MaxFrames: 240,
		DetectConcurrency: 2, DetectTaskQueue: s.detect, Tracking: plazaTracking()}}

	w := s.start("worker")
	base := testenv.Name("capture-base")
	res := getResult(t, s.runCapture(tc, base, in), 5*time.Minute)
	if res.Frames != 240 || res.Chunks != 16 {
		t.Fatalf("undisturbed run: %+v, want 240 frames in 16 chunks", res)
	}
	wantFrames, wantDets := s.rows(base)
	if len(wantFrames) != 240 || len(wantDets) < 240*6 {
		t.Fatalf("undisturbed run stored %d frames and %d detections", len(wantFrames), len(wantDets))
	}
	wantTracks, wantCounts := s.trackRows(base)
	if len(wantTracks) < 10 || res.Tracks != len(wantTracks) || res.Crossings == 0 ||
		s.count(`SELECT count(*) FROM zone_visits WHERE capture_id = $1`, base) == 0 {
		t.Fatalf("undisturbed run: %d tracks (result %+v), counts %v", len(wantTracks), res, wantCounts)
	}
	if n := s.count(`SELECT count(*) FROM detections WHERE capture_id = $1 AND track_id IS NOT NULL`, base); n < len(wantDets)*3/4 {
		t.Errorf("only %d of %d detections are in a track", n, len(wantDets))
	}
	s.sameCountsAsTrackCommand(base, video, 240)
	// CaptureWorkflow and its child replay; refreshes the replay test's history.
	testenv.Replay(t, tc, base, "capture_history.json", workflows.CaptureWorkflow, workflows.RollupWorkflow)
	// Detection is pipelined: the first chunks were detected while later
	// ones were still being captured.
	if n := s.count(`SELECT count(*) FROM chunks WHERE capture_id = $1
		AND detected_at < (SELECT max(written_at) FROM chunks WHERE capture_id = $1)`, base); n == 0 {
		t.Error("no chunk was detected before capture finished: detection is not pipelined")
	}

	crash := testenv.Name("capture-crash")
	run := s.runCapture(tc, crash, in)
	// Kill during capture: some chunks are written, none detected yet.
	waitFor(t, "the first chunks to be written", time.Minute, func() bool {
		return s.count(`SELECT count(*) FROM chunks WHERE capture_id = $1`, crash) >= 3
	})
	kill(t, w)
	written := s.count(`SELECT count(*) FROM chunks WHERE capture_id = $1`, crash)
	if written >= 16 {
		t.Fatalf("capture finished before the kill (%d chunks): the test proves nothing", written)
	}
	w = s.start("worker")
	// Kill during detection and tracking: some chunks detected and tracked, not all.
	tracked := func() int {
		return s.count(`SELECT coalesce(max(next_chunk), 0) FROM track_state WHERE capture_id = $1`, crash)
	}
	waitFor(t, "detection and tracking to be under way", 2*time.Minute, func() bool {
		return s.count(`SELECT count(*) FROM chunks WHERE capture_id = $1 AND detected_at IS NOT NULL`, crash) >= 2 && tracked() >= 1
	})
	kill(t, w)
	if n := s.count(`SELECT count(*) FROM chunks WHERE capture_id = $1 AND detected_at IS NOT NULL`, crash); n >= 16 || tracked() >= 16 {
		t.Fatalf("detection or tracking finished before the kill: the test proves nothing")
	}
	s.start("worker")
	res2 := getResult(t, run, 5*time.Minute)
	if res2.Frames != res.Frames || res2.Chunks != res.Chunks {
		t.Fatalf("crashed run %+v, undisturbed %+v", res2, res)
	}
	gotFrames, gotDets := s.rows(crash)
	compare(t, "frames", gotFrames, wantFrames)
	compare(t, "detections", gotDets, wantDets)
	gotTracks, gotCounts := s.trackRows(crash)
	compare(t, "tracks", gotTracks, wantTracks)
	compare(t, "crossings, visits and occupancy", gotCounts, wantCounts)
	if n := s.count(`SELECT count(*) FROM chunks WHERE capture_id = $1`, crash); n != 16 {
		t.Errorf("%d chunk rows after the crashes, want 16", n)
	}
	if n := s.count(`SELECT count(*) FROM captures WHERE id = $1 AND status = 'completed' AND frames_captured = 240`, crash); n != 1 {
		t.Errorf("capture row not completed with 240 frames")
	}

	// The rollup ran: people dominate the plaza.
	var top string
	var avg float64
	if err := s.db.QueryRow(context.Background(), `SELECT object, avg_per_frame FROM analytics.stream_object_ranking
		WHERE stream_id = 'plaza' AND rank = 1`).Scan(&top, &avg); err != nil {
		t.Fatalf("read ranking: %v", err)
	}
	if top != "person" || avg < 5 || avg > 8.5 {
		t.Errorf("top object %s with %.2f per frame, want person with about 6.7", top, avg)
	}
}

func compare(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows after crashes, %d undisturbed", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("%s row %d differs:\n got %s\nwant %s", what, i, got[i], want[i])
			return
		}
	}
}

// sameCountsAsTrackCommand runs `sightline track --json` on the video's
// first frames with the capture's lines and zones: the command runs the
// same code on the same bytes, so its counts are the capture's rows.
func (s *stack) sameCountsAsTrackCommand(captureID, video string, frames int) {
	s.t.Helper()
	cmd := exec.Command(binary, "track", "--json", "--max-frames", strconv.Itoa(frames),
		"--line", "middle=0,330,768,330", "--zone", "centre=200,200,600,200,600,500,200,500", video)
	cmd.Env, cmd.Stderr = s.env, os.Stderr
	out, err := cmd.Output()
	if err != nil {
		s.t.Fatalf("sightline track: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var got struct {
		Frames int                                  `json:"frames"`
		Tracks map[string]int                       `json:"tracks"`
		Lines  map[string]map[string]map[string]int `json:"lines"`
		Zones  map[string]struct {
			Max    map[string]int     `json:"max"`
			DwellS map[string]float64 `json:"dwell_s"`
		} `json:"zones"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		s.t.Fatalf("sightline track's last line: %v", err)
	}
	if got.Frames != frames || len(lines) != frames+1 {
		s.t.Errorf("sightline track: %d frames and %d lines, want %d and a summary", got.Frames, len(lines), frames)
	}
	want := map[string]int{}
	for _, r := range s.pairs(`SELECT class_name, count(*) FROM tracks WHERE capture_id = $1 GROUP BY 1`, captureID) {
		want[r.k] = r.v
	}
	if !maps.Equal(got.Tracks, want) {
		s.t.Errorf("sightline track counted tracks %v, the capture %v", got.Tracks, want)
	}
	for _, dir := range []string{"in", "out"} {
		want := map[string]int{}
		for _, r := range s.pairs(`SELECT class_name, count(*) FROM crossings WHERE capture_id = $1 AND direction = $2 GROUP BY 1`, captureID, dir) {
			want[r.k] = r.v
		}
		if !maps.Equal(got.Lines["middle"][dir], want) {
			s.t.Errorf("sightline track counted %s %v, the capture %v", dir, got.Lines["middle"][dir], want)
		}
	}
	wantMax := map[string]int{}
	for _, r := range s.pairs(`SELECT class_name, max(count)::int FROM zone_occupancy WHERE capture_id = $1 GROUP BY 1`, captureID) {
		wantMax[r.k] = r.v
	}
	if !maps.Equal(got.Zones["centre"].Max, wantMax) {
		s.t.Errorf("sightline track's zone maximum %v, the capture's %v", got.Zones["centre"].Max, wantMax)
	}
}

type pair struct {
	k string
	v int
}

func (s testDB) pairs(query string, args ...any) []pair {
	rows, err := s.db.Query(context.Background(), query, args...)
	if err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pair, error) {
		var p pair
		err := r.Scan(&p.k, &p.v)
		return p, err
	})
	if err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	return out
}
