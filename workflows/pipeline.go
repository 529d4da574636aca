package workflows

import (
	"errors"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sightline-video/sightline/activities"
	"github.com/sightline-video/sightline/internal/contract"
)

// pipeline feeds chunks to DetectChunk activities as they arrive, at most
// DetectConcurrency at a time, each chunk once however often it is announced.
type pipeline struct {
	ctx       workflow.Context // the workflow's context, for Now and Get
	detCtx    workflow.Context // activity options of DetectChunk
	in        contract.CaptureInput
	captureID string
	startedAt time.Time
	prog      *contract.CaptureProgress

	sel     workflow.Selector
	queue   []activities.ChunkRef
	readyAt map[int]time.Time // chunk seq → when it was announced
	// When the first and the latest chunk were announced, for the time
	// between chunks.
	firstReady, lastReady time.Time
	detected              map[int]bool // chunk seqs whose detection (or skip) finished
	inFlight              map[int]activities.ChunkRef
	err                   error // the first detection or tracking failure

	// Modes. Runs started before modes existed detect every chunk in order.
	modes    bool
	mode     string // the capture's mode, or the stream's; empty: by source
	live     bool   // a chunk came from a live source
	skipping int    // SkipChunk activities in flight

	// Tracking follows detection one chunk at a time, in order, on the
	// workflow's own task queue.
	track     bool // runs started before tracking existed do not track
	trackCtx  workflow.Context
	nextTrack int  // the next chunk to track
	tracking  bool // a TrackChunk is in flight
}

func newPipeline(ctx workflow.Context, in contract.CaptureInput, captureID string, startedAt time.Time, prog *contract.CaptureProgress, track, modes bool) *pipeline {
	p := &pipeline{in: in, captureID: captureID, startedAt: startedAt, prog: prog, track: track, modes: modes, mode: in.Mode,
		readyAt: map[int]time.Time{}, detected: map[int]bool{}, inFlight: map[int]activities.ChunkRef{}}
	p.setContext(ctx)
	return p
}

func (p *pipeline) setContext(ctx workflow.Context) {
	p.ctx = ctx
	p.sel = workflow.NewSelector(ctx)
	p.detCtx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           p.in.DetectTaskQueue,
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{"BadChunk"},
		},
	})
	p.trackCtx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: []string{"BadTrackState"},
		},
	})
}

// rebase moves the pipeline onto ctx (one that outlives a cancellation)
// with stored, every chunk the capture stored, in order: detections in
// flight on the old context are abandoned, every chunk not detected yet is
// queued again, and a failure caused by the cancellation is forgotten.
func (p *pipeline) rebase(ctx workflow.Context, stored []activities.ChunkRef) {
	p.setContext(ctx)
	p.queue, p.inFlight, p.tracking, p.skipping = nil, map[int]activities.ChunkRef{}, false, 0
	if p.err != nil && temporal.IsCanceledError(p.err) {
		p.err = nil
	}
	for _, c := range stored {
		if _, seen := p.readyAt[c.Seq]; !seen {
			p.add(c)
		} else if !p.detected[c.Seq] {
			p.queue = append(p.queue, c)
		}
	}
}

// add queues a chunk unless it was seen before.
func (p *pipeline) add(c activities.ChunkRef) {
	if _, seen := p.readyAt[c.Seq]; seen {
		return
	}
	now := workflow.Now(p.ctx)
	p.readyAt[c.Seq] = now
	if p.firstReady.IsZero() {
		p.firstReady = now
	}
	p.lastReady = now
	p.live = p.live || c.Live
	p.queue = append(p.queue, c)
	p.prog.Chunks++
	p.prog.FramesCaptured += c.Frames
}

// launch starts detections while there is room, and tracks the next
// chunk when it is detected.
func (p *pipeline) launch() {
	p.launchDetect()
	p.launchTrack()
}

func (p *pipeline) launchTrack() {
	if !p.track || p.tracking || p.err != nil || !p.detected[p.nextTrack] {
		return
	}
	p.tracking = true
	seq, ctx := p.nextTrack, p.ctx
	f := workflow.ExecuteActivity(p.trackCtx, a.TrackChunk, activities.TrackInput{
		CaptureID: p.captureID, StreamID: p.in.StreamID, Seq: seq, StartedAt: p.startedAt, Tracking: p.in.Tracking})
	p.sel.AddFuture(f, func(f workflow.Future) {
		p.tracking = false
		var r activities.TrackResult
		if err := f.Get(ctx, &r); err != nil {
			if p.err == nil {
				p.err = err
			}
			return
		}
		p.nextTrack = seq + 1
		p.prog.ChunksTracked++
		p.prog.Tracks, p.prog.Crossings = r.Tracks, r.Crossings
	})
}

// finishTracking closes the capture's open zone visits once every chunk is tracked.
func (p *pipeline) finishTracking(ctx workflow.Context) error {
	if !p.track {
		return nil
	}
	var r activities.TrackResult
	err := workflow.ExecuteActivity(p.trackCtx, a.FinishTracking, activities.FinishTrackingInput{
		CaptureID: p.captureID, StreamID: p.in.StreamID, StartedAt: p.startedAt, Tracking: p.in.Tracking}).Get(ctx, &r)
	if err != nil {
		return err
	}
	p.prog.Tracks, p.prog.Crossings = r.Tracks, r.Crossings
	return nil
}

// setMode switches the detection mode of the running capture.
func (p *pipeline) setMode(mode string) {
	if contract.ValidateMode(mode) != nil {
		workflow.GetLogger(p.ctx).Warn("ignoring an unknown detection mode", "mode", mode)
		return
	}
	p.mode = mode
	p.prog.Mode = p.effectiveMode()
}

// effectiveMode is the mode in force: the one set, else realtime for a live
// source and complete for a file.
func (p *pipeline) effectiveMode() string {
	switch {
	case !p.modes:
		return contract.ModeComplete
	case p.mode != "":
		return p.mode
	case p.live:
		return contract.ModeRealtime
	}
	return contract.ModeComplete
}

// maxLag is how long a chunk may wait in realtime mode before it is
// skipped: the setting, else two chunks' worth of sampled time, else of the
// time between chunks arriving so far; 0 skips nothing (yet).
func (p *pipeline) maxLag() time.Duration {
	switch {
	case p.in.MaxLagSeconds > 0:
		return time.Duration(p.in.MaxLagSeconds * float64(time.Second))
	case p.in.EveryMS > 0:
		return 2 * time.Duration(p.in.ChunkFrames*p.in.EveryMS) * time.Millisecond
	}
	if n := len(p.readyAt); n >= 2 {
		return 2 * p.lastReady.Sub(p.firstReady) / time.Duration(n-1)
	}
	return 0
}

// realtime orders the waiting chunks newest first and skips those that
// waited longer than maxLag, so detection spends itself on what is fresh.
func (p *pipeline) realtime() {
	var skip []activities.ChunkRef
	p.queue, skip = realtimeQueue(p.queue, p.readyAt, p.detected, workflow.Now(p.ctx), p.maxLag())
	for _, c := range skip {
		p.skip(c)
	}
}

// realtimeQueue is realtime mode's policy: the chunks to detect, newest
// first, and those to skip, waiting longer than limit (0: none). Chunks
// already detected are dropped.
func realtimeQueue(queue []activities.ChunkRef, readyAt map[int]time.Time, detected map[int]bool,
	now time.Time, limit time.Duration) (keep, skip []activities.ChunkRef) {
	for _, c := range queue {
		switch {
		case detected[c.Seq]:
		case limit > 0 && now.Sub(readyAt[c.Seq]) > limit:
			skip = append(skip, c)
		default:
			keep = append(keep, c)
		}
	}
	sort.Slice(keep, func(i, j int) bool { return keep[i].Seq > keep[j].Seq })
	return keep, skip
}

// skip records a chunk as skipped; once recorded it counts as detected, so
// tracking goes past it (it has no frames to track).
func (p *pipeline) skip(c activities.ChunkRef) {
	p.skipping++
	ctx := p.ctx
	f := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, shortActivity), a.SkipChunk,
		activities.SkipInput{CaptureID: p.captureID, StreamID: p.in.StreamID, Chunk: c})
	p.sel.AddFuture(f, func(f workflow.Future) {
		p.skipping--
		if err := f.Get(ctx, nil); err != nil {
			if p.err == nil {
				p.err = err
			}
			return
		}
		p.detected[c.Seq] = true
		p.prog.ChunksSkipped++
		p.prog.FramesSkipped += c.Frames
	})
}

func (p *pipeline) launchDetect() {
	p.prog.Mode = p.effectiveMode()
	if p.err == nil && p.prog.Mode == contract.ModeRealtime {
		p.realtime()
	}
	for p.err == nil && len(p.queue) > 0 && len(p.inFlight) < p.in.DetectConcurrency {
		c := p.queue[0]
		p.queue = p.queue[1:]
		if p.detected[c.Seq] {
			continue
		}
		p.inFlight[c.Seq] = c
		in := activities.DetectInput{CaptureID: p.captureID, StreamID: p.in.StreamID, Chunk: c, StartedAt: p.startedAt}
		if d := p.in.Detect; d != nil {
			in.Model, in.Filter = d.Model, d.Filter
		}
		ctx, detCtx := p.ctx, p.detCtx
		// In realtime mode a chunk no worker takes before it is too old is
		// skipped too: a busy deployment's task queue is where it waits.
		expires := false
		if limit := p.maxLag(); p.prog.Mode == contract.ModeRealtime && limit > 0 {
			wait := max(limit-workflow.Now(ctx).Sub(p.readyAt[c.Seq]), time.Second)
			detCtx, expires = workflow.WithScheduleToStartTimeout(detCtx, wait), true
		}
		f := workflow.ExecuteActivity(detCtx, a.DetectChunk, in)
		p.sel.AddFuture(f, func(f workflow.Future) {
			delete(p.inFlight, c.Seq)
			var r activities.DetectResult
			if err := f.Get(ctx, &r); err != nil {
				var te *temporal.TimeoutError
				if expires && errors.As(err, &te) && te.TimeoutType() == enumspb.TIMEOUT_TYPE_SCHEDULE_TO_START {
					p.skip(c)
					return
				}
				if p.err == nil {
					p.err = err
				}
				return
			}
			p.detected[c.Seq] = true
			lag := workflow.Now(ctx).Sub(p.readyAt[c.Seq]).Milliseconds()
			p.prog.ChunksDetected++
			p.prog.FramesAnalysed += r.Frames
			p.prog.Detections += r.Detections
			p.prog.LagMS = lag
			p.prog.MaxLagMS = max(p.prog.MaxLagMS, lag)
		})
	}
}

// idle reports whether every queued chunk has been detected, and tracked.
func (p *pipeline) idle() bool {
	return len(p.queue) == 0 && len(p.inFlight) == 0 && p.skipping == 0 && (!p.track || !p.tracking && p.nextTrack == len(p.readyAt))
}
