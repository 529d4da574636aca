package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	dbtlike "github.com/sightline-video/sightline/dbt_like"
	"github.com/sightline-video/sightline/internal/chunk"
	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/testenv"
	"github.com/sightline-video/sightline/internal/video"
)

var started = time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)

// newActs wires the activities to a fresh database and bucket on the real
// local services.
func newActs(t *testing.T) *Activities {
	t.Helper()
	pool, _ := testenv.DB(t)
	project, err := dbtlike.DefaultProject()
	if err != nil {
		t.Fatal(err)
	}
	dets, err := detector.NewModels(nil, detector.Options{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dets.Close() })
	return &Activities{DB: pool, Store: testenv.Store(t), Detectors: dets, Rollup: project}
}

func (a *Activities) begin(t *testing.T, id, source string) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a.BeginCapture)
	_, err := env.ExecuteActivity(a.BeginCapture, BeginCaptureInput{CaptureID: id, StreamID: "plaza", Source: source, StartedAt: started, Settings: contract.Settings{ChunkFrames: 10}})
	if err != nil {
		t.Fatal(err)
	}
}

func capture(t *testing.T, a *Activities, in CaptureInput, heartbeat *CaptureProgress) (CaptureProgress, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a.CaptureFrames)
	if heartbeat != nil {
		env.SetHeartbeatDetails(*heartbeat)
	}
	val, err := env.ExecuteActivity(a.CaptureFrames, in)
	var prog CaptureProgress
	if err == nil {
		err = val.Get(&prog)
	}
	return prog, err
}

func TestBeginCaptureRegistersOrRequiresTheStream(t *testing.T) {
	a := newActs(t)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a.BeginCapture)
	_, err := env.ExecuteActivity(a.BeginCapture, BeginCaptureInput{CaptureID: "c0", StreamID: "nowhere", StartedAt: started, Settings: contract.Settings{ChunkFrames: 10}})
	if err == nil || !strings.Contains(err.Error(), "unknown stream") || !strings.Contains(err.Error(), "nowhere") {
		t.Fatalf("unknown stream without source: err = %v", err)
	}
	val, err := env.ExecuteActivity(a.BeginCapture, BeginCaptureInput{CaptureID: "c1", StreamID: "plaza", Source: "/v.avi", StartedAt: started, Settings: contract.Settings{ChunkFrames: 10}})
	if err != nil {
		t.Fatal(err)
	}
	var res BeginCaptureResult
	if err := val.Get(&res); err != nil || res.Source != "/v.avi" {
		t.Fatalf("result %+v, %v", res, err)
	}
	// Without a source the registered one is used; repeating is harmless.
	for range 2 {
		val, err = env.ExecuteActivity(a.BeginCapture, BeginCaptureInput{CaptureID: "c2", StreamID: "plaza", StartedAt: started, Settings: contract.Settings{ChunkFrames: 10}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := val.Get(&res); err != nil || res.Source != "/v.avi" {
		t.Fatalf("result %+v, %v", res, err)
	}
	var n int
	_ = a.DB.QueryRow(context.Background(), `SELECT count(*) FROM captures WHERE stream_id = 'plaza'`).Scan(&n)
	if n != 2 {
		t.Fatalf("%d capture rows, want 2", n)
	}
}

func TestCaptureFramesWritesChunksAndResumesAtTheSameFrame(t *testing.T) {
	a := newActs(t)
	src := testenv.SharedFile(t, "vtest.avi")
	a.begin(t, "cap", src)
	// every 500 ms of a 10 fps video: frames 0, 5, 10, ...
	in := CaptureInput{CaptureID: "cap", StreamID: "plaza", Source: src, StartedAt: started, Settings: contract.Settings{EveryMS: 500, ChunkFrames: 4, MaxFrames: 10}}
	full, err := capture(t, a, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !full.Done || full.Sampled != 10 || len(full.Chunks) != 3 {
		t.Fatalf("progress %+v, want 10 frames in 3 chunks", full)
	}
	ctx := context.Background()
	var objects [][]byte
	for i, c := range full.Chunks {
		data, err := a.Store.Get(ctx, c.Key)
		if err != nil {
			t.Fatal(err)
		}
		frames, err := chunk.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		for j, f := range frames {
			if want := (i*4 + j) * 5; f.Index != want || f.PTSms != int64(want)*100 {
				t.Fatalf("chunk %d frame %d: index %d pts %d, want index %d", i, j, f.Index, f.PTSms, want)
			}
		}
		objects = append(objects, data)
	}

	// A retry after the first chunk resumes from the heartbeat and writes the
	// same objects under the same keys, and no extra chunk rows.
	// The heartbeat after chunk 0 (frames 0, 5, 10, 15; frame 15 at 1500 ms
	// was the last read, so the next sample is due at 2000 ms).
	resume := CaptureProgress{NextFrame: 16, Sampler: video.Sampler{EveryMS: 500, NextMS: 2000}, Sampled: 4, Chunks: full.Chunks[:1]}
	again, err := capture(t, a, in, &resume)
	if err != nil {
		t.Fatal(err)
	}
	if again.Sampled != 10 || len(again.Chunks) != 3 {
		t.Fatalf("resumed progress %+v", again)
	}
	for i, c := range again.Chunks {
		data, err := a.Store.Get(ctx, c.Key)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(objects[i]) {
			t.Fatalf("chunk %d differs after resume", i)
		}
	}
	var n int
	_ = a.DB.QueryRow(ctx, `SELECT count(*) FROM chunks WHERE capture_id = 'cap'`).Scan(&n)
	if n != 3 {
		t.Fatalf("%d chunk rows, want 3", n)
	}
}

func TestCaptureFramesRejectsABadSourceForGood(t *testing.T) {
	a := newActs(t)
	a.begin(t, "bad", "/nonexistent/video.avi")
	_, err := capture(t, a, CaptureInput{CaptureID: "bad", StreamID: "plaza", Source: "/nonexistent/video.avi", StartedAt: started, Settings: contract.Settings{ChunkFrames: 5}}, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "BadSource" || !appErr.NonRetryable() ||
		!strings.Contains(err.Error(), "/nonexistent/video.avi") {
		t.Fatalf("err = %v, want a non-retryable BadSource error naming the file", err)
	}
}

func TestDetectChunkIsIdempotentAndRecordsEmptyFrames(t *testing.T) {
	a := newActs(t)
	src := testenv.SharedFile(t, "vtest.avi")
	a.begin(t, "det", src)
	prog, err := capture(t, a, CaptureInput{CaptureID: "det", StreamID: "plaza", Source: src, StartedAt: started, Settings: contract.Settings{ChunkFrames: 6, MaxFrames: 6}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a.DetectChunk)
	in := DetectInput{CaptureID: "det", StreamID: "plaza", Chunk: prog.Chunks[0], StartedAt: started}
	var first DetectResult
	for attempt := range 2 {
		val, err := env.ExecuteActivity(a.DetectChunk, in)
		if err != nil {
			t.Fatal(err)
		}
		var res DetectResult
		if err := val.Get(&res); err != nil {
			t.Fatal(err)
		}
		if attempt == 0 {
			first = res
		} else if res != first {
			t.Fatalf("retry found %+v, first attempt %+v", res, first)
		}
	}
	ctx := context.Background()
	var frames, dets, persons int
	var ts time.Time
	_ = a.DB.QueryRow(ctx, `SELECT count(*), max(ts) FROM frames WHERE capture_id = 'det'`).Scan(&frames, &ts)
	_ = a.DB.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE class_name = 'person') FROM detections WHERE capture_id = 'det'`).Scan(&dets, &persons)
	if frames != 6 || dets != first.Detections || persons < 6*3 {
		t.Fatalf("after two attempts: %d frames, %d detections (%d persons), want 6 frames and %d detections",
			frames, dets, persons, first.Detections)
	}
	if want := started.Add(500 * time.Millisecond); !ts.Equal(want) {
		t.Fatalf("last frame time %s, want %s (capture start + pts)", ts, want)
	}

	// A black chunk still records its frames, with zero detections, so
	// averages divide by every analysed frame.
	blank := blankChunk(t)
	key := chunk.Key("plaza", "det", 1)
	if err := a.Store.Put(ctx, key, blank, "application/x-tar"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.Exec(ctx, `INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
		VALUES ('det', 1, 'plaza', $1, 100, 2, 10000, 10100)`, key); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ExecuteActivity(a.DetectChunk, DetectInput{CaptureID: "det", StreamID: "plaza",
		Chunk: ChunkRef{Seq: 1, Key: key, FirstFrame: 100, Frames: 2}, StartedAt: started}); err != nil {
		t.Fatal(err)
	}
	var zero int
	_ = a.DB.QueryRow(ctx, `SELECT count(*) FROM frames WHERE capture_id = 'det' AND chunk_seq = 1 AND detection_count = 0`).Scan(&zero)
	if zero != 2 {
		t.Fatalf("%d empty frames recorded, want 2", zero)
	}

	// A chunk that lost frames is refused rather than silently short.
	_, err = env.ExecuteActivity(a.DetectChunk, DetectInput{CaptureID: "det", StreamID: "plaza",
		Chunk: ChunkRef{Seq: 1, Key: key, FirstFrame: 100, Frames: 3}, StartedAt: started})
	if err == nil || !strings.Contains(err.Error(), "holds 2 frames, want 3") {
		t.Fatalf("short chunk: err = %v", err)
	}

	// A frame that is not a JPEG fails the chunk for good, naming the frame,
	// after the frames before it went through the networks; the rows of an
	// earlier good attempt stay.
	data, err := a.Store.Get(ctx, prog.Chunks[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	good, err := chunk.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	good[4].JPEG = good[4].JPEG[:100]
	if data, err = chunk.Encode(good); err != nil {
		t.Fatal(err)
	}
	if err := a.Store.Put(ctx, prog.Chunks[0].Key, data, "application/x-tar"); err != nil {
		t.Fatal(err)
	}
	_, err = env.ExecuteActivity(a.DetectChunk, in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "BadChunk" || !appErr.NonRetryable() ||
		!strings.Contains(err.Error(), fmt.Sprintf("frame %d is not a decodable JPEG", good[4].Index)) {
		t.Fatalf("corrupt frame: err = %v, want a non-retryable BadChunk naming frame %d", err, good[4].Index)
	}
	_ = a.DB.QueryRow(ctx, `SELECT count(*) FROM frames WHERE capture_id = 'det' AND chunk_seq = 0`).Scan(&frames)
	if frames != 6 {
		t.Fatalf("%d frame rows of chunk 0 after the failed attempt, want the 6 from before", frames)
	}
}

// TestDetectChunkModelFilterAndBrokenModel: a stream's detection settings
// reach the chunk (PicoDet, persons only, written with the model's name); a
// registered model whose file is corrupt fails its chunk for good with the
// file named, and the same worker then detects the next chunk.
func TestDetectChunkModelFilterAndBrokenModel(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.onnx")
	if err := os.WriteFile(broken, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"name":"broken","file":"broken.onnx"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := detector.NewRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := newActs(t)
	dets, err := detector.NewModels(reg, detector.Options{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dets.Close() })
	a.Detectors = dets

	src := testenv.SharedFile(t, "vtest.avi")
	a.begin(t, "pico", src)
	ctx := context.Background()
	if _, err := a.DB.Exec(ctx, `UPDATE streams SET detect = '{"model":"picodet_s_416_coco","filter":{"classes":["person"]}}' WHERE id = 'plaza'`); err != nil {
		t.Fatal(err)
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a.BeginCapture)
	env.RegisterActivity(a.DetectChunk)
	val, err := env.ExecuteActivity(a.BeginCapture, BeginCaptureInput{CaptureID: "pico", StreamID: "plaza", StartedAt: started, Settings: contract.Settings{ChunkFrames: 4}})
	if err != nil {
		t.Fatal(err)
	}
	var begun BeginCaptureResult
	if err := val.Get(&begun); err != nil {
		t.Fatal(err)
	}
	if begun.Detect == nil || begun.Detect.Model != "picodet_s_416_coco" || len(begun.Detect.Filter.Classes) != 1 {
		t.Fatalf("BeginCapture did not pass the stream's settings on: %+v", begun.Detect)
	}
	prog, err := capture(t, a, CaptureInput{CaptureID: "pico", StreamID: "plaza", Source: src, StartedAt: started, Settings: contract.Settings{ChunkFrames: 4, MaxFrames: 8}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	_, err = env.ExecuteActivity(a.DetectChunk, DetectInput{CaptureID: "pico", StreamID: "plaza", Chunk: prog.Chunks[0],
		StartedAt: started, Model: "broken"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || !strings.Contains(err.Error(), broken) {
		t.Fatalf("broken model: err = %v, want a non-retryable error naming %s", err, broken)
	}

	for _, c := range prog.Chunks {
		if _, err := env.ExecuteActivity(a.DetectChunk, DetectInput{CaptureID: "pico", StreamID: "plaza", Chunk: c,
			StartedAt: started, Model: begun.Detect.Model, Filter: begun.Detect.Filter}); err != nil {
			t.Fatal(err)
		}
	}
	var frames, persons, others int
	var model string
	_ = a.DB.QueryRow(ctx, `SELECT count(*), min(model) FROM frames WHERE capture_id = 'pico'`).Scan(&frames, &model)
	_ = a.DB.QueryRow(ctx, `SELECT count(*) FILTER (WHERE class_name = 'person'), count(*) FILTER (WHERE class_name <> 'person')
		FROM detections WHERE capture_id = 'pico'`).Scan(&persons, &others)
	if frames != 8 || model != "picodet_s_416_coco" || persons < 8*2 || others != 0 {
		t.Fatalf("%d frames by %q, %d persons and %d other objects; want 8 frames by picodet, persons only", frames, model, persons, others)
	}
}

// An input scheduled before the settings carried duration_seconds still
// bounds the capture by its duration_ms when retried.
func TestCaptureInputDuration(t *testing.T) {
	var in CaptureInput
	if err := json.Unmarshal([]byte(`{"capture_id":"c","chunk_frames":5,"duration_ms":2500}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.durationMS() != 2500 || in.ChunkFrames != 5 {
		t.Errorf("legacy input: %+v", in)
	}
	in.DurationSeconds = 1.5
	if in.durationMS() != 1500 {
		t.Errorf("duration_seconds wins: %d", in.durationMS())
	}
}
