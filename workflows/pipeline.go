package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/sightline-video/sightline/activities"
)

// pipeline feeds chunks to DetectChunk activities as they arrive, at most
// DetectConcurrency at a time, each chunk once however often it is announced.
type pipeline struct {
	ctx       workflow.Context // the workflow's context, for Now and Get
	detCtx    workflow.Context // activity options of DetectChunk
	in        CaptureInput
	captureID string
	startedAt time.Time
	prog      *CaptureProgress

	sel      workflow.Selector
	queue    []activities.ChunkRef
	readyAt  map[int]time.Time // chunk seq → when it was announced
	inFlight int
	err      error // the first detection failure
}

func newPipeline(ctx, detCtx workflow.Context, in CaptureInput, captureID string, startedAt time.Time, prog *CaptureProgress) *pipeline {
	return &pipeline{ctx: ctx, detCtx: detCtx, in: in, captureID: captureID, startedAt: startedAt, prog: prog,
		sel: workflow.NewSelector(ctx), readyAt: map[int]time.Time{}}
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

// launch starts detections while there is room.
func (p *pipeline) launch() {
	for p.err == nil && len(p.queue) > 0 && p.inFlight < p.in.DetectConcurrency {
		c := p.queue[0]
		p.queue = p.queue[1:]
		p.inFlight++
		in := activities.DetectInput{CaptureID: p.captureID, StreamID: p.in.StreamID, Chunk: c, StartedAt: p.startedAt}
		if d := p.in.Detect; d != nil {
			in.Model, in.Filter = d.Model, d.Filter
		}
		f := workflow.ExecuteActivity(p.detCtx, a.DetectChunk, in)
		p.sel.AddFuture(f, func(f workflow.Future) {
			p.inFlight--
			var r activities.DetectResult
			if err := f.Get(p.ctx, &r); err != nil {
				if p.err == nil {
					p.err = err
				}
				return
			}
			lag := workflow.Now(p.ctx).Sub(p.readyAt[c.Seq]).Milliseconds()
			p.prog.ChunksDetected++
			p.prog.FramesAnalysed += r.Frames
			p.prog.Detections += r.Detections
			p.prog.LagMS = lag
			p.prog.MaxLagMS = max(p.prog.MaxLagMS, lag)
		})
	}
}

// idle reports whether every queued chunk has been detected.
func (p *pipeline) idle() bool { return len(p.queue) == 0 && p.inFlight == 0 }
