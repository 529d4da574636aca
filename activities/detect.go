package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/chunk"
)

// DetectInput names one chunk to analyse.
type DetectInput struct {
	CaptureID string    `json:"capture_id"`
	StreamID  string    `json:"stream_id"`
	Chunk     ChunkRef  `json:"chunk"`
	StartedAt time.Time `json:"started_at"` // capture start: frame time = StartedAt + pts
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
	what := fmt.Sprintf("detect capture %s chunk %d", in.CaptureID, in.Chunk.Seq)
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

	det, err := a.Detectors.Get(ctx)
	if err != nil {
		return DetectResult{}, fmt.Errorf("%s: %w", what, err)
	}
	defer a.Detectors.Put(det)
	model := det.ModelName()

	var frameRows, detRows [][]any
	for i, f := range frames {
		img, err := gocv.IMDecode(f.JPEG, gocv.IMReadColor)
		if err != nil || img.Empty() {
			img.Close()
			return DetectResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s: frame %d is not a decodable JPEG", what, f.Index), "BadChunk", err)
		}
		dets, err := det.Detect(img)
		width, height := img.Cols(), img.Rows()
		img.Close()
		if err != nil {
			return DetectResult{}, fmt.Errorf("%s: frame %d: %w", what, f.Index, err)
		}
		ts := in.StartedAt.Add(time.Duration(f.PTSms) * time.Millisecond)
		frameRows = append(frameRows, []any{in.CaptureID, f.Index, in.StreamID, in.Chunk.Seq, f.PTSms, ts,
			width, height, len(dets), model})
		for j, d := range dets {
			detRows = append(detRows, []any{in.CaptureID, f.Index, int16(j), in.StreamID, ts, int16(d.ClassID),
				d.Class, d.Score, d.Box[0], d.Box[1], d.Box[2], d.Box[3]})
		}
		activity.RecordHeartbeat(ctx, i)
	}

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
		if _, err := tx.Exec(ctx, `UPDATE chunks SET detected_at = now() WHERE capture_id = $1 AND seq = $2`,
			in.CaptureID, in.Chunk.Seq); err != nil {
			return fmt.Errorf("mark chunk detected: %w", err)
		}
		return nil
	})
	if err != nil {
		return DetectResult{}, fmt.Errorf("%s: %w", what, err)
	}
	return DetectResult{Frames: len(frames), Detections: len(detRows)}, nil
}
