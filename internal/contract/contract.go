// Package contract holds what it takes to start and follow Sightline's
// workflows without linking their code: workflow, query and task-queue
// names, the workflow inputs and results, and the one capture Settings type
// that every way of starting a capture shares (the API, CaptureWorkflow,
// StreamWorkflow, schedules and the CLI). The API and internal/schedule
// start workflows by these names, so they never import workflows or
// activities.
package contract

// Workflow type names, as the workers register them.
const (
	CaptureWorkflow   = "CaptureWorkflow"
	StreamWorkflow    = "StreamWorkflow"
	RollupWorkflow    = "RollupWorkflow"
	RetentionWorkflow = "RetentionWorkflow"
)

// Default task queues.
const (
	DefaultTaskQueue       = "sightline"            // workflows, capture, bookkeeping, rollups
	DefaultDetectTaskQueue = "sightline-detect"     // detection
	DefaultGPUDetectQueue  = "sightline-detect-gpu" // detection on GPU workers (worker --gpu)
)

// Query names.
const (
	// ProgressQuery returns a CaptureProgress.
	ProgressQuery = "progress"
	// StreamProgressQuery returns a StreamProgress.
	StreamProgressQuery = "stream-progress"
)

// Switching the detection mode at run time: a running CaptureWorkflow takes
// ModeSignal with the mode (a string); a running StreamWorkflow takes the
// ModeUpdate update with the mode, and passes it on to its current window
// and those after.
const (
	ModeSignal = "set-mode"
	ModeUpdate = "set-mode"
)

// WindowCapturedSignal is what a StreamWorkflow's window (a CaptureWorkflow)
// sends its parent, with its own workflow id, when it stops capturing, so
// the next window starts while this one finishes detecting.
const WindowCapturedSignal = "window-captured"
