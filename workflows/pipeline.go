package workflows

import (
	"time"

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

	sel      workflow.Selector
	queue    []activities.ChunkRef
	readyAt  map[int]time.Time // chunk seq → when it was announced
	detected map[int]bool      // chunk seqs whose detection finished
	inFlight map[int]activities.ChunkRef
	err      error // the first detection or tracking failure

	// Tracking follows detection one chunk at a time, in order, on the
	// workflow's own task queue.
	track     bool // runs started before tracking existed do not track
	trackCtx  workflow.Context
	nextTrack int  // the next chunk to track
	tracking  bool // a TrackChunk is in flight
}

func newPipeline(ctx workflow.Context, in contract.CaptureInput, captureID string, startedAt time.Time, prog *contract.CaptureProgress, track bool) *pipeline {
	p := &pipeline{in: in, captureID: captureID, startedAt: startedAt, prog: prog, track: track,
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
	p.queue, p.inFlight, p.tracking = nil, map[int]activities.ChunkRef{}, false
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
	p.readyAt[c.Seq] = workflow.Now(p.ctx)
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

func (p *pipeline) launchDetect() {
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
		ctx := p.ctx
		f := workflow.ExecuteActivity(p.detCtx, a.DetectChunk, in)
		p.sel.AddFuture(f, func(f workflow.Future) {
			delete(p.inFlight, c.Seq)
			var r activities.DetectResult
			if err := f.Get(ctx, &r); err != nil {
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
	return len(p.queue) == 0 && len(p.inFlight) == 0 && (!p.track || !p.tracking && p.nextTrack == len(p.readyAt))
}
