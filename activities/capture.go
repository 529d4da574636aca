package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/chunk"
	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/source"
	"github.com/sightline-video/sightline/internal/video"
)

// CaptureInput describes one capture run over a source: the capture's
// settings as its workflow resolved them, of which the capture uses the
// sampling, chunking and limits.
type CaptureInput struct {
	CaptureID string `json:"capture_id"`
	StreamID  string `json:"stream_id"`
	Source    string `json:"source"`
	contract.Settings
	// DurationMS is how inputs scheduled before DurationSeconds gave the
	// limit; a retry of one still honours it.
	DurationMS  int64     `json:"duration_ms,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	JPEGQuality int       `json:"jpeg_quality,omitempty"`
	KnownLive   bool      `json:"known_live,omitempty"` // see contract.CaptureInput
}

// durationMS is the capture's time limit in ms; 0: none.
func (in CaptureInput) durationMS() int64 {
	if in.DurationSeconds > 0 {
		return int64(in.DurationSeconds * 1000)
	}
	return in.DurationMS
}

// ChunkRef points at a chunk written to the object store.
type ChunkRef struct {
	Seq        int    `json:"seq"`
	Key        string `json:"key"`
	FirstFrame int    `json:"first_frame"`
	Frames     int    `json:"frames"`
	// Live: the chunk came from a live source, which decides the detection
	// mode of a capture that names none.
	Live bool `json:"live,omitempty"`
}

// CaptureProgress is heartbeated after every chunk: everything needed to
// resume at the next chunk after a crash. It is also the activity's result.
type CaptureProgress struct {
	NextFrame int           `json:"next_frame"` // source index of the next frame to read
	Sampler   video.Sampler `json:"sampler"`
	Sampled   int           `json:"sampled"` // frames written so far
	Chunks    []ChunkRef    `json:"chunks"`
	Gaps      int           `json:"gaps"` // outages of a live source so far
	Live      bool          `json:"live,omitempty"`
	Done      bool          `json:"done"`
}

// ChunkReadySignal is sent to the capture's workflow with a ChunkRef after
// each chunk is stored, so detection can start while capture goes on.
const ChunkReadySignal = "chunk-ready"

// DefaultJPEGQuality balances chunk size against detection accuracy.
const DefaultJPEGQuality = 90

// Reconnect backoff for live sources.
const (
	reconnectFirst = 500 * time.Millisecond
	reconnectMax   = 10 * time.Second
)

// CaptureFrames reads the source, samples frames, JPEG-encodes them and
// writes them to the object store in chunks of ChunkFrames. It heartbeats its
// position after each chunk, and a retried attempt resumes from the last
// heartbeat: a file at the same frame (rewriting at most one chunk, with
// identical content under the same key), a live source at the live edge.
//
// A live source that drops is reopened with backoff until the capture
// window (StartedAt + the duration) ends; each outage is recorded as a gap.
// Frame times of live sources are the source's content times anchored to the
// wall clock at each (re)connect, so they stay true across reconnects; those
// of files are stream times.
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
	resumed := activity.HasHeartbeatDetails(ctx)
	if resumed {
		if err := activity.GetHeartbeatDetails(ctx, &prog); err != nil {
			return prog, fmt.Errorf("capture %s: read heartbeat: %w", in.CaptureID, err)
		}
		a.log().Info("resuming capture", "capture", in.CaptureID, "frame", prog.NextFrame, "chunks", len(prog.Chunks))
	}
	if prog.Done {
		return prog, nil
	}
	spec, err := source.Parse(in.Source)
	if err != nil {
		return prog, badSource(err)
	}

	// A fresh capture heartbeats no details while it opens, so a retry is
	// still fresh.
	var details []any
	if resumed {
		details = []any{prog}
	}
	r, err := a.openSource(ctx, in.CaptureID, spec, details...)
	if err != nil {
		// A live source that never opened fails the capture at once with
		// the reason; after a crash, or in a stream's later window, it was
		// open before, so reconnect.
		if !(resumed || in.KnownLive) || !errors.Is(err, source.ErrUnavailable) && !errors.Is(err, source.ErrTimeout) {
			return prog, badSource(err)
		}
	} else if !r.Live() {
		r.Skip(prog.NextFrame)
	}
	defer func() {
		if r != nil {
			r.Close()
		}
	}()
	live := r == nil || r.Live()
	prog.Live = live
	deadline := time.Time{}
	if d := in.durationMS(); d > 0 {
		deadline = in.StartedAt.Add(time.Duration(d) * time.Millisecond)
	}

	// The working sampler runs ahead of prog.Sampler, which only moves when a
	// chunk is stored, so that a resume samples the same frames again.
	sampler := prog.Sampler
	next := prog.NextFrame
	baseMS, firstPTS, lastPTS := int64(-1), int64(0), int64(0)
	img := gocv.NewMat()
	defer img.Close()
	var pending []chunk.Frame
	// The pending frames' JPEGs share one buffer, reused from chunk to chunk:
	// a chunk's frames are not needed once it is stored.
	var jpegs []byte
	params := []int{gocv.IMWriteJpegQuality, quality}
	// Heartbeat between chunks too, so a slow source does not look dead.
	lastBeat := time.Now()
	beat := func() {
		if time.Since(lastBeat) > time.Second {
			activity.RecordHeartbeat(ctx, prog)
			lastBeat = time.Now()
		}
	}
	// canceled returns err, first storing the frames read so far when the
	// activity was canceled, so a canceled capture keeps everything it read.
	canceled := func(err error) (CaptureProgress, error) {
		if ctx.Err() != nil && len(pending) > 0 {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if ferr := a.flushChunk(fctx, in, &prog, pending, next, sampler); ferr != nil {
				return prog, errors.Join(err, ferr)
			}
		}
		return prog, err
	}
	for in.MaxFrames <= 0 || prog.Sampled+len(pending) < in.MaxFrames {
		if err := ctx.Err(); err != nil {
			return canceled(fmt.Errorf("capture %s: %w", in.CaptureID, err))
		}
		if live && !deadline.IsZero() && !time.Now().Before(deadline) {
			break
		}
		ok := false
		var pts int64
		if r != nil {
			_, pts, ok = r.Read(&img)
		}
		if !ok {
			if !live {
				break
			}
			if r != nil {
				r.Close()
			}
			baseMS = -1
			if r, err = a.reconnect(ctx, in, spec, deadline, &prog, beat); err != nil {
				return canceled(err)
			}
			if r == nil {
				break // the window ended during the outage
			}
			continue
		}
		idx := next
		next++
		if live {
			// Anchor the source's content time to the wall clock at each
			// (re)connect: frames keep their spacing when HLS delivers a
			// segment in a burst, and times stay true across reconnects.
			if baseMS < 0 {
				baseMS, firstPTS = time.Since(in.StartedAt).Milliseconds(), pts
			}
			pts = max(baseMS+pts-firstPTS, lastPTS)
			lastPTS = pts
		}
		beat()
		if d := in.durationMS(); !live && d > 0 && pts >= d {
			break
		}
		if !sampler.Keep(pts) {
			continue
		}
		buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, params)
		if err != nil {
			return prog, fmt.Errorf("capture %s: encode frame %d: %w", in.CaptureID, idx, err)
		}
		at := len(jpegs)
		jpegs = append(jpegs, buf.GetBytes()...)
		buf.Close()
		pending = append(pending, chunk.Frame{Index: idx, PTSms: pts, JPEG: jpegs[at:len(jpegs):len(jpegs)]})
		if len(pending) == in.ChunkFrames {
			if err := a.flushChunk(ctx, in, &prog, pending, next, sampler); err != nil {
				return canceled(err)
			}
			pending, jpegs = pending[:0], jpegs[:0]
			lastBeat = time.Now()
		}
	}
	if len(pending) > 0 {
		if err := a.flushChunk(ctx, in, &prog, pending, next, sampler); err != nil {
			return canceled(err)
		}
	}
	prog.Done = true
	activity.RecordHeartbeat(ctx, prog)
	a.log().Info("capture finished", "capture", in.CaptureID, "frames", prog.Sampled, "chunks", len(prog.Chunks), "gaps", prog.Gaps)
	return prog, nil
}

func badSource(err error) error {
	// No cause: the message already says it all, once.
	return temporal.NewNonRetryableApplicationError(err.Error(), "BadSource", nil)
}

// openSource resolves the spec (again: YouTube manifests expire) and opens
// it, heartbeating details meanwhile: a worker's opens queue behind one
// another (see source.Open), and a long queue must not look like a dead
// worker.
func (a *Activities) openSource(ctx context.Context, captureID string, spec source.Spec, details ...any) (*source.Reader, error) {
	resolver := a.Sources
	if resolver == nil {
		resolver = &source.DefaultResolver{Policy: source.Unrestricted}
	}
	res, err := resolver.Resolve(ctx, spec)
	if err != nil {
		return nil, err
	}
	stop := beating(ctx, details...)
	r, err := source.Open(ctx, res, a.SourceOptions)
	stop()
	if err != nil {
		return nil, err
	}
	a.Metrics.Opened(r.Queued())
	if r.Queued() > time.Second {
		a.log().Info("source opened after the worker's other opens", "capture", captureID,
			"source", r.Source(), "queued", r.Queued().Round(time.Millisecond))
	}
	return r, nil
}

// reconnect reopens a live source with backoff until it answers or the
// window ends (nil reader), recording the outage as a gap.
func (a *Activities) reconnect(ctx context.Context, in CaptureInput, spec source.Spec, deadline time.Time,
	prog *CaptureProgress, beat func()) (*source.Reader, error) {
	gap := prog.Gaps
	began := time.Now()
	reason := "stream ended or stalled"
	a.log().Warn("live source dropped, reconnecting", "capture", in.CaptureID, "source", spec.String())
	record := func(ended *time.Time) error {
		_, err := a.DB.Exec(ctx, `INSERT INTO capture_gaps (capture_id, gap_index, started_at, ended_at, reason)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (capture_id, gap_index) DO UPDATE
			SET ended_at = EXCLUDED.ended_at, reason = EXCLUDED.reason`, in.CaptureID, gap, began, ended, reason)
		if err != nil {
			return fmt.Errorf("capture %s: record gap %d: %w", in.CaptureID, gap, err)
		}
		return nil
	}
	if err := record(nil); err != nil {
		return nil, err
	}
	a.Metrics.Gap(in.StreamID)
	wait := reconnectFirst
	for {
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			prog.Gaps = gap + 1
			return nil, nil
		}
		r, err := a.openSource(ctx, in.CaptureID, spec, *prog)
		if err == nil {
			now := time.Now()
			if err := record(&now); err != nil {
				r.Close()
				return nil, err
			}
			prog.Gaps = gap + 1
			a.Metrics.Reconnected(in.StreamID)
			a.log().Info("live source back", "capture", in.CaptureID, "gap", now.Sub(began).Round(time.Millisecond))
			return r, nil
		}
		if errors.Is(err, source.ErrInvalid) || errors.Is(err, source.ErrNotAllowed) {
			return nil, badSource(err)
		}
		reason = err.Error()
		until := time.Now().Add(wait)
		if !deadline.IsZero() && deadline.Before(until) {
			until = deadline
		}
		for time.Now().Before(until) {
			beat()
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("capture %s: %w", in.CaptureID, ctx.Err())
			case <-time.After(min(time.Until(until), 250*time.Millisecond)):
			}
		}
		wait = min(2*wait, reconnectMax)
	}
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
	ref := ChunkRef{Seq: seq, Key: key, FirstFrame: first.Index, Frames: len(frames), Live: prog.Live}
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
	a.Metrics.Captured(in.StreamID, len(frames))
	return nil
}

// StoredChunks lists the chunks a capture has stored, in order: after a
// cancellation the workflow detects those its signals did not announce.
func (a *Activities) StoredChunks(ctx context.Context, captureID string) ([]ChunkRef, error) {
	rows, err := a.DB.Query(ctx, `SELECT seq, object_key, first_frame, frame_count FROM chunks
		WHERE capture_id = $1 ORDER BY seq`, captureID)
	if err != nil {
		return nil, fmt.Errorf("list chunks of capture %s: %w", captureID, err)
	}
	refs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChunkRef, error) {
		var c ChunkRef
		err := r.Scan(&c.Seq, &c.Key, &c.FirstFrame, &c.Frames)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list chunks of capture %s: %w", captureID, err)
	}
	return refs, nil
}
