// Package worker runs Sightline's Temporal workers. One process can serve the
// main task queue (workflows, capture, bookkeeping, rollups), the detect task
// queue, or both, so capture and detection scale apart.
package worker

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/sightline-video/sightline/activities"
	"github.com/sightline-video/sightline/workflows"
)

// Roles a worker can take.
const (
	RoleMain   = "main"
	RoleDetect = "detect"
)

// Options says which task queues to serve and how much detection to run at once.
type Options struct {
	TaskQueue       string
	DetectTaskQueue string
	Roles           []string // RoleMain and/or RoleDetect; empty: both
	// DetectConcurrency bounds detection activities in flight on this
	// worker; twice the detector pool keeps the networks busy while chunks
	// are fetched and their rows written.
	DetectConcurrency int
	// DetectChunksPerSecond caps how many chunks a second the detect task
	// queue hands out, across all its workers (Temporal's task-queue rate
	// limit: the chunks wait on the server); 0: no cap. It holds a shared
	// GPU to a share, or makes a small deployment of a big one for tests.
	DetectChunksPerSecond float64
	Log                   *slog.Logger
}

// RegisterMain registers the workflows and the non-detection activities.
func RegisterMain(w worker.Registry, acts *activities.Activities) {
	w.RegisterWorkflow(workflows.CaptureWorkflow)
	w.RegisterWorkflow(workflows.StreamWorkflow)
	w.RegisterWorkflow(workflows.RollupWorkflow)
	w.RegisterWorkflow(workflows.RetentionWorkflow)
	w.RegisterActivity(acts.BeginCapture)
	w.RegisterActivity(acts.CaptureFrames)
	w.RegisterActivity(acts.FinishCapture)
	w.RegisterActivity(acts.StoredChunks)
	w.RegisterActivity(acts.SkipChunk)
	w.RegisterActivity(acts.TrackChunk)
	w.RegisterActivity(acts.FinishTracking)
	w.RegisterActivity(acts.ApplyRetention)
	w.RegisterActivity(acts.RunRollup) // still called by captures started before RollupWorkflow
	w.RegisterActivity(acts.PlanRollup)
	w.RegisterActivity(acts.BuildRollupModel)
	w.RegisterActivity(acts.RunRollupTest)
	w.RegisterActivity(acts.RecordRollup)
}

// RegisterDetect registers the detection activity.
func RegisterDetect(w worker.Registry, acts *activities.Activities) {
	w.RegisterActivity(acts.DetectChunk)
}

// Run serves the chosen task queues until ctx is done.
func Run(ctx context.Context, c client.Client, acts *activities.Activities, opts Options) error {
	roles := opts.Roles
	if len(roles) == 0 {
		roles = []string{RoleMain, RoleDetect}
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	var workers []worker.Worker
	for _, role := range roles {
		switch role {
		case RoleMain:
			// Many streams mean many short activities (chunk rows,
			// tracking, rollup models) and workflow tasks at once: the
			// SDK's two pollers each would leave them queued.
			w := worker.New(c, opts.TaskQueue, worker.Options{
				MaxConcurrentActivityTaskPollers: 8, MaxConcurrentWorkflowTaskPollers: 4,
			})
			RegisterMain(w, acts)
			workers = append(workers, w)
		case RoleDetect:
			if acts.Detectors == nil {
				return fmt.Errorf("worker: role %q needs a detector pool", role)
			}
			w := worker.New(c, opts.DetectTaskQueue, worker.Options{
				MaxConcurrentActivityExecutionSize: max(1, opts.DetectConcurrency),
				TaskQueueActivitiesPerSecond:       opts.DetectChunksPerSecond,
			})
			RegisterDetect(w, acts)
			workers = append(workers, w)
		default:
			return fmt.Errorf("worker: unknown role %q (want %q or %q)", role, RoleMain, RoleDetect)
		}
	}
	for i, w := range workers {
		if err := w.Start(); err != nil {
			for _, started := range workers[:i] {
				started.Stop()
			}
			return fmt.Errorf("worker: start %s: %w", roles[i], err)
		}
	}
	log.Info("worker started", "roles", roles, "task_queue", opts.TaskQueue, "detect_task_queue", opts.DetectTaskQueue)
	<-ctx.Done()
	for _, w := range workers {
		w.Stop()
	}
	log.Info("worker stopped")
	return nil
}
