package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/chunk"
	"github.com/sightline-video/sightline/internal/detector"
)

// DetectInput names one chunk to analyse.
type DetectInput struct {
	CaptureID string    `json:"capture_id"`
	StreamID  string    `json:"stream_id"`
	Chunk     ChunkRef  `json:"chunk"`
	StartedAt time.Time `json:"started_at"` // capture start: frame time = StartedAt + pts
	// Model is a registry name; empty means the worker's default model.
	Model string `json:"model,omitempty"`
	// Filter keeps only some classes, with per-class minimum scores.
	Filter *detector.Filter `json:"filter,omitempty"`
}

// DetectResult summarises what a chunk held.
type DetectResult struct {
	Frames     int `json:"frames"`
	Detections int `json:"detections"`
}

// DetectChunk runs the detector over every frame of a chunk and stores one
// frame row per frame and one row per detection. The chunk's rows are
// replaced in one transaction, so a retry leaves exactly one copy.
func (a *Activities) DetectChunk(ctx context.Context, in DetectInput) (DetectResult, error) {
	began := time.Now()
	what := fmt.Sprintf("detect capture %s chunk %d", in.CaptureID, in.Chunk.Seq)
	pool, err := a.Detectors.Pool(in.Model)
	if err != nil {
		if errors.Is(err, detector.ErrPoolClosed) {
			return DetectResult{}, fmt.Errorf("%s: %w", what, err)
		}
		// A missing or broken model file fails this capture with an error
		// naming it; the worker goes on serving other models.
		return DetectResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", what, err), "BadModel", err)
	}
	if in.Filter != nil {
		if err := in.Filter.Validate(pool.Classes()); err != nil {
			return DetectResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s: model %s: %v", what, pool.Model().Name, err), "BadFilter", err)
		}
	}
	data, err := a.Store.Get(ctx, in.Chunk.Key)
	if err != nil {
		return DetectResult{}, fmt.Errorf("%s: %w", what, err)
	}
	frames, err := chunk.Decode(data)
	if err != nil {
		return DetectResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", what, err), "BadChunk", err)
	}
	if len(frames) != in.Chunk.Frames {
		return DetectResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: chunk %s holds %d frames, want %d", what, in.Chunk.Key, len(frames), in.Chunk.Frames), "BadChunk", nil)
	}

	results, err := detectFrames(ctx, pool, frames, in.Filter)
	if err != nil {
		var bad *badFrameError
		if errors.As(err, &bad) {
			return DetectResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", what, err), "BadChunk", err)
		}
		return DetectResult{}, fmt.Errorf("%s: %w", what, err)
	}
	model := pool.Model().Name
	perClass := map[string]int{}
	var frameRows, detRows [][]any
	for i, f := range frames {
		r := results[i]
		ts := in.StartedAt.Add(time.Duration(f.PTSms) * time.Millisecond)
		frameRows = append(frameRows, []any{in.CaptureID, f.Index, in.StreamID, in.Chunk.Seq, f.PTSms, ts,
			r.width, r.height, len(r.dets), model})
		for j, d := range r.dets {
			detRows = append(detRows, []any{in.CaptureID, f.Index, int16(j), in.StreamID, ts, int16(d.ClassID),
				d.Class, d.Score, d.Box[0], d.Box[1], d.Box[2], d.Box[3]})
			perClass[d.Class]++
		}
	}

	var lagUS int64 // from the chunk being stored to its rows committing, on the database's clock
	err = pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		// Deleting the chunk's frames cascades to their detections.
		if _, err := tx.Exec(ctx, `DELETE FROM frames WHERE capture_id = $1 AND chunk_seq = $2`, in.CaptureID, in.Chunk.Seq); err != nil {
			return fmt.Errorf("clear old rows: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"frames"}, []string{"capture_id", "frame_index", "stream_id",
			"chunk_seq", "pts_ms", "ts", "width", "height", "detection_count", "model"}, pgx.CopyFromRows(frameRows)); err != nil {
			return fmt.Errorf("write frames: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"detections"}, []string{"capture_id", "frame_index", "det_index",
			"stream_id", "ts", "class_id", "class_name", "score", "x1", "y1", "x2", "y2"}, pgx.CopyFromRows(detRows)); err != nil {
			return fmt.Errorf("write detections: %w", err)
		}
		err := tx.QueryRow(ctx, `UPDATE chunks SET detected_at = now(), skipped_at = NULL WHERE capture_id = $1 AND seq = $2
			RETURNING (extract(epoch FROM clock_timestamp() - written_at) * 1e6)::bigint`, in.CaptureID, in.Chunk.Seq).Scan(&lagUS)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("mark chunk detected: %w", err)
		}
		return nil
	})
	if err != nil {
		return DetectResult{}, fmt.Errorf("%s: %w", what, err)
	}
	a.Metrics.Detected(model, pool.Backend(), time.Since(began), time.Duration(lagUS)*time.Microsecond, len(frames), perClass)
	return DetectResult{Frames: len(frames), Detections: len(detRows)}, nil
}

// SkipInput names a chunk realtime mode leaves undetected.
type SkipInput struct {
	CaptureID string   `json:"capture_id"`
	StreamID  string   `json:"stream_id"`
	Chunk     ChunkRef `json:"chunk"`
}

// SkipChunk records that realtime mode skipped a chunk: it is marked
// skipped, so its frames count as skipped rather than analysed or empty.
// A chunk already detected stays detected, and a retry counts nothing twice.
func (a *Activities) SkipChunk(ctx context.Context, in SkipInput) error {
	tag, err := a.DB.Exec(ctx, `UPDATE chunks SET skipped_at = now()
		WHERE capture_id = $1 AND seq = $2 AND detected_at IS NULL AND skipped_at IS NULL`, in.CaptureID, in.Chunk.Seq)
	if err != nil {
		return fmt.Errorf("skip capture %s chunk %d: %w", in.CaptureID, in.Chunk.Seq, err)
	}
	if tag.RowsAffected() == 1 {
		a.Metrics.Skipped(in.StreamID, in.Chunk.Frames)
	}
	return nil
}

// frameResult is what detection found in one frame.
type frameResult struct {
	width, height int
	dets          []detector.Detection
}

// badFrameError is a frame that is not a decodable JPEG: retrying cannot help.
type badFrameError struct {
	index int
	err   error
}

func (e *badFrameError) Error() string {
	return fmt.Sprintf("frame %d is not a decodable JPEG: %v", e.index, e.err)
}

// detectFrames runs the pool's model over the frames. A goroutine
// decodes the JPEGs a batch at a time and queues each batch for the pool's
// networks, which serve every chunk in progress on the worker, so decoding
// overlaps inference and no network idles while any chunk has frames left.
func detectFrames(ctx context.Context, pool *detector.Pool, frames []chunk.Frame, f *detector.Filter) ([]frameResult, error) {
	batch, err := pool.Batch()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]frameResult, len(frames))
	var (
		mu       sync.Mutex
		firstErr error
		pending  sync.WaitGroup // batches queued and not yet detected
		done     atomic.Int64   // frames detected, for heartbeats
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	size := pool.Model().InputSize
	submitted := make(chan struct{})
	go func() {
		defer close(submitted)
		for start := 0; start < len(frames) && ctx.Err() == nil; start += batch {
			var decoded []detector.Frame
			var imgs []gocv.Mat
			for _, fr := range frames[start:min(start+batch, len(frames))] {
				d, err := detector.DecodeJPEG(fr.JPEG, size)
				if err != nil {
					closeFrames(decoded)
					fail(&badFrameError{index: fr.Index, err: err})
					return
				}
				decoded = append(decoded, d)
				imgs = append(imgs, d.Mat)
			}
			pending.Add(1)
			err := pool.Submit(ctx, imgs, f, func(out [][]detector.Detection, err error) {
				defer pending.Done()
				defer closeFrames(decoded)
				if err != nil {
					fail(fmt.Errorf("frame %d: %w", frames[start].Index, err))
					return
				}
				for i, d := range decoded {
					detector.ScaleBoxes(d, out[i])
					results[start+i] = frameResult{width: d.Width, height: d.Height, dets: out[i]}
				}
				done.Add(int64(len(imgs)))
			})
			if err != nil {
				pending.Done()
				closeFrames(decoded)
				fail(err)
				return
			}
		}
	}()
	finished := make(chan struct{})
	go func() { <-submitted; pending.Wait(); close(finished) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			if firstErr != nil {
				return nil, firstErr
			}
			return results, ctx.Err()
		case <-tick.C:
			activity.RecordHeartbeat(ctx, done.Load())
		}
	}
}

func closeFrames(fs []detector.Frame) {
	for _, f := range fs {
		f.Close()
	}
}
