package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/chunk"
	"github.com/sightline-video/sightline/internal/video"
)

// CaptureInput describes one capture run over a source.
type CaptureInput struct {
	CaptureID   string    `json:"capture_id"`
	StreamID    string    `json:"stream_id"`
	Source      string    `json:"source"`
	EveryMS     int       `json:"every_ms"`     // 0: every frame
	ChunkFrames int       `json:"chunk_frames"` // frames per chunk
	MaxFrames   int       `json:"max_frames"`   // 0: until the source ends
	DurationMS  int64     `json:"duration_ms"`  // stop at this much stream time; 0: no limit
	StartedAt   time.Time `json:"started_at"`
	JPEGQuality int       `json:"jpeg_quality,omitempty"`
}

// ChunkRef points at a chunk written to the object store.
type ChunkRef struct {
	Seq        int    `json:"seq"`
	Key        string `json:"key"`
	FirstFrame int    `json:"first_frame"`
	Frames     int    `json:"frames"`
}

// CaptureProgress is heartbeated after every chunk: everything needed to
// resume at the next chunk after a crash. It is also the activity's result.
type CaptureProgress struct {
	NextFrame int           `json:"next_frame"` // source index of the next frame to read
	Sampler   video.Sampler `json:"sampler"`
	Sampled   int           `json:"sampled"` // frames written so far
	Chunks    []ChunkRef    `json:"chunks"`
	Done      bool          `json:"done"`
}

// ChunkReadySignal is sent to the capture's workflow with a ChunkRef after
// each chunk is stored, so detection can start while capture goes on.
const ChunkReadySignal = "chunk-ready"

// DefaultJPEGQuality balances chunk size against detection accuracy.
const DefaultJPEGQuality = 90

// CaptureFrames reads the source, samples frames, JPEG-encodes them and
// writes them to the object store in chunks of ChunkFrames. It heartbeats its
// position after each chunk, and a retried attempt resumes from the last
// heartbeat at the same frame, rewriting at most one chunk with identical
// content under the same key.
func (a *Activities) CaptureFrames(ctx context.Context, in CaptureInput) (CaptureProgress, error) {
	if in.ChunkFrames <= 0 {
		return CaptureProgress{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("capture %s: chunk_frames must be positive, got %d", in.CaptureID, in.ChunkFrames), "BadInput", nil)
	}
	quality := in.JPEGQuality
	if quality <= 0 {
		quality = DefaultJPEGQuality
	}
	prog := CaptureProgress{Sampler: video.Sampler{EveryMS: int64(in.EveryMS)}}
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &prog); err != nil {
			return prog, fmt.Errorf("capture %s: read heartbeat: %w", in.CaptureID, err)
		}
		a.log().Info("resuming capture", "capture", in.CaptureID, "frame", prog.NextFrame, "chunks", len(prog.Chunks))
	}
	if prog.Done {
		return prog, nil
	}

	r, err := video.Open(in.Source)
	if err != nil {
		if errors.Is(err, video.ErrSource) {
			return prog, temporal.NewNonRetryableApplicationError(err.Error(), "BadSource", err)
		}
		return prog, err
	}
	defer r.Close()
	r.Skip(prog.NextFrame)

	// The working sampler runs ahead of prog.Sampler, which only moves when a
	// chunk is stored, so that a resume samples the same frames again.
	sampler := prog.Sampler
	img := gocv.NewMat()
	defer img.Close()
	var pending []chunk.Frame
	params := []int{gocv.IMWriteJpegQuality, quality}
	// Heartbeat between chunks too, so a slow source does not look dead.
	lastBeat := time.Now()
	for in.MaxFrames <= 0 || prog.Sampled+len(pending) < in.MaxFrames {
		if err := ctx.Err(); err != nil {
			return prog, fmt.Errorf("capture %s: %w", in.CaptureID, err)
		}
		idx, pts, ok := r.Read(&img)
		if !ok || (in.DurationMS > 0 && pts >= in.DurationMS) {
			break
		}
		if time.Since(lastBeat) > 2*time.Second {
			activity.RecordHeartbeat(ctx, prog)
			lastBeat = time.Now()
		}
		if !sampler.Keep(pts) {
			continue
		}
		buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, params)
		if err != nil {
			return prog, fmt.Errorf("capture %s: encode frame %d: %w", in.CaptureID, idx, err)
		}
		pending = append(pending, chunk.Frame{Index: idx, PTSms: pts, JPEG: append([]byte(nil), buf.GetBytes()...)})
		buf.Close()
		if len(pending) == in.ChunkFrames {
			if err := a.flushChunk(ctx, in, &prog, pending, idx+1, sampler); err != nil {
				return prog, err
			}
			pending = pending[:0]
			lastBeat = time.Now()
		}
	}
	if len(pending) > 0 {
		if err := a.flushChunk(ctx, in, &prog, pending, pending[len(pending)-1].Index+1, sampler); err != nil {
			return prog, err
		}
	}
	prog.Done = true
	activity.RecordHeartbeat(ctx, prog)
	a.log().Info("capture finished", "capture", in.CaptureID, "frames", prog.Sampled, "chunks", len(prog.Chunks))
	return prog, nil
}

// flushChunk writes one chunk object and its row, then heartbeats the
// position after it: object and row first, so a heartbeat never points past
// data that is not stored.
func (a *Activities) flushChunk(ctx context.Context, in CaptureInput, prog *CaptureProgress, frames []chunk.Frame, nextFrame int, sampler video.Sampler) error {
	seq := len(prog.Chunks)
	key := chunk.Key(in.StreamID, in.CaptureID, seq)
	data, err := chunk.Encode(frames)
	if err != nil {
		return fmt.Errorf("capture %s: chunk %d: %w", in.CaptureID, seq, err)
	}
	if err := a.Store.Put(ctx, key, data, "application/x-tar"); err != nil {
		return fmt.Errorf("capture %s: %w", in.CaptureID, err)
	}
	first, last := frames[0], frames[len(frames)-1]
	_, err = a.DB.Exec(ctx, `INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (capture_id, seq) DO UPDATE SET object_key = EXCLUDED.object_key, first_frame = EXCLUDED.first_frame,
			frame_count = EXCLUDED.frame_count, start_ms = EXCLUDED.start_ms, end_ms = EXCLUDED.end_ms, written_at = now()`,
		in.CaptureID, seq, in.StreamID, key, first.Index, len(frames), first.PTSms, last.PTSms)
	if err != nil {
		return fmt.Errorf("capture %s: record chunk %d: %w", in.CaptureID, seq, err)
	}
	ref := ChunkRef{Seq: seq, Key: key, FirstFrame: first.Index, Frames: len(frames)}
	// Announce the chunk before heartbeating past it: if the signal fails,
	// the retry redoes this chunk and announces it again.
	if a.Temporal != nil {
		info := activity.GetInfo(ctx)
		if err := a.Temporal.SignalWorkflow(ctx, info.WorkflowExecution.ID, info.WorkflowExecution.RunID,
			ChunkReadySignal, ref); err != nil {
			return fmt.Errorf("capture %s: announce chunk %d: %w", in.CaptureID, seq, err)
		}
	}
	prog.Chunks = append(prog.Chunks, ref)
	prog.Sampled += len(frames)
	prog.NextFrame = nextFrame
	prog.Sampler = sampler
	if _, err := a.DB.Exec(ctx, `UPDATE captures SET frames_captured = $2 WHERE id = $1`, in.CaptureID, prog.Sampled); err != nil {
		return fmt.Errorf("capture %s: record progress: %w", in.CaptureID, err)
	}
	activity.RecordHeartbeat(ctx, *prog)
	return nil
}
