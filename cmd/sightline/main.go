// Command sightline is the single binary of Sightline: workers, the HTTP
// API, migrations, rollups, detection from the command line and the demo.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sightline-video/sightline/api"
	"github.com/sightline-video/sightline/internal/app"
	"github.com/sightline-video/sightline/internal/config"
	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/schedule"
	schema "github.com/sightline-video/sightline/sql"
	"github.com/sightline-video/sightline/web"
	"github.com/sightline-video/sightline/worker"
)

const usage = `usage: sightline <command> [flags]

commands:
  dev       run the worker (all task queues) and the HTTP API in one process
  worker    run a Temporal worker (--roles main,detect; --gpu: detect on CUDA from the GPU queue; --metrics-addr)
  api       serve the HTTP API (with /metrics)
  migrate   apply database migrations
  rollup    run the rollup models now, list them, or schedule RollupWorkflow (--list, --select, --full-refresh, --schedule)
  capture   capture a source now and follow its progress (Ctrl-C: cancel or leave running)
  detect    detect objects in images or videos and print them (--annotate DIR: also write the frames with boxes)
  track     track objects in a video and count them crossing lines and in zones (--line, --zone; --json)
  frame     fetch a stored frame from the API as a JPEG, optionally with its detections drawn
  demo      register the sample video, capture it through the API and print its rankings
  cancel    stop a running capture, keeping what it stored (through the API)
  delete    delete a capture or a stream with everything stored of it (through the API)
  retention enforce the retention policy now (through the API)
  schedule  recurring captures as Temporal schedules: create, list, describe, pause, unpause, trigger, delete

Settings come from SIGHTLINE_* environment variables (see docs/configuration.md);
a malformed one stops every command before it starts.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	// `capture` answers Ctrl-C itself (cancel or leave running); every other
	// command stops on it.
	stopOn := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if os.Args[1] == "capture" {
		stopOn = stopOn[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopOn...)
	defer stop()
	if err := run(ctx, os.Args[1], os.Args[2:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "sightline %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// run loads the configuration, builds the logger it asks for (on stderr)
// and runs cmd. The configuration comes first: a malformed setting is the
// command's error before anything starts.
func run(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	slog.SetDefault(log)
	switch cmd {
	case "dev":
		return runServe(ctx, cfg, log, true, true, nil, false)
	case "worker":
		fs := flag.NewFlagSet("worker", flag.ContinueOnError)
		roles := fs.String("roles", "main,detect", "task queues to serve: main, detect or both")
		gpu := fs.Bool("gpu", false, "detect on the GPU (SIGHTLINE_GPU_PROVIDER: ONNX Runtime's CUDA or TensorRT provider) and serve the GPU detect task queue (SIGHTLINE_GPU_DETECT_TASK_QUEUE)")
		fs.StringVar(&cfg.MetricsAddress, "metrics-addr", cfg.MetricsAddress, "serve /metrics and /healthz on this address (SIGHTLINE_METRICS_ADDR); empty: none")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return runServe(ctx, cfg, log, true, false, strings.Split(*roles, ","), *gpu)
	case "api":
		return runServe(ctx, cfg, log, false, true, nil, false)
	case "migrate":
		a, err := app.Open(ctx, cfg, log, app.Needs{})
		if err != nil {
			return err
		}
		defer a.Close()
		v, err := schema.Migrate(ctx, a.Acts.DB)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schema at version %d\n", v)
		return nil
	case "rollup":
		return runRollup(ctx, cfg, log, args, stdout)
	case "detect":
		return runDetect(ctx, cfg, args, stdout)
	case "track":
		return runTrack(ctx, cfg, args, stdout)
	case "capture":
		a, err := app.Open(ctx, cfg, log, app.Needs{Temporal: true})
		if err != nil {
			return err
		}
		defer a.Close()
		return runCapture(ctx, cfg, a.Temporal, args, captureIO{out: stdout, in: os.Stdin, interrupt: interruptChannel()})
	case "demo":
		return runDemo(ctx, cfg, args, stdout)
	case "schedule":
		return runSchedule(ctx, cfg, args, stdout)
	case "cancel", "delete", "retention":
		return runLifecycle(ctx, cfg, cmd, args, stdout)
	case "frame":
		return runFrame(ctx, cfg, args, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

// runServe runs a worker, the API, or both, until ctx is done. A gpu worker
// detects on CUDA and takes detection work from the GPU task queue, so GPU
// and CPU workers can serve one deployment; captures choose the queue.
func runServe(ctx context.Context, cfg config.Config, log *slog.Logger, serveWorker, serveAPI bool, roles []string, gpu bool) error {
	detect := serveWorker && (roles == nil || contains(roles, worker.RoleDetect))
	detectQueue := cfg.DetectTaskQueue
	if gpu {
		detectQueue = cfg.GPUDetectTaskQueue
	}
	a, err := app.Open(ctx, cfg, log, app.Needs{Temporal: true, Store: true, Detectors: detect, GPU: gpu, Migrate: true})
	if err != nil {
		return err
	}
	defer a.Close()
	g, ctx := errgroup.WithContext(ctx)
	if serveWorker && (roles == nil || contains(roles, worker.RoleMain)) {
		// The workers that run the retention workflow keep its schedule in
		// line with their settings. Captures go on without it, so a failure
		// is only logged.
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := schedule.PutRetention(sctx, a.Temporal, cfg.TaskQueue, cfg.RetentionEvery, retentionPolicy(cfg)); err != nil {
			log.Error("retention schedule not updated", "error", err)
		}
		cancel()
	}
	if serveWorker && cfg.MetricsAddress != "" {
		g.Go(func() error { return a.Metrics.Serve(ctx, cfg.MetricsAddress) })
	}
	if serveWorker {
		g.Go(func() error {
			return worker.Run(ctx, a.Temporal, a.Acts, worker.Options{
				TaskQueue: cfg.TaskQueue, DetectTaskQueue: detectQueue, Roles: roles,
				// Twice the networks: while a chunk is detected the next
				// one is fetched from MinIO and decoded, and the last
				// one's rows are written, so no network waits on I/O.
				DetectConcurrency: 2 * app.DetectWorkers(cfg), Log: log,
			})
		})
	}
	if serveAPI {
		dashboard, built := web.Dist()
		if !built {
			log.Warn("this binary has no dashboard: build it with `make build` (needs Node.js and npm)")
			dashboard = nil
		}
		// The API reports the queues' backlogs, once for the deployment,
		// rather than every worker.
		a.Metrics.WatchTaskQueues(a.Temporal, cfg.TemporalNamespace,
			[]string{cfg.TaskQueue, cfg.DetectTaskQueue, cfg.GPUDetectTaskQueue}, log)
		srv := api.New(api.Deps{Metrics: a.Metrics, DB: a.Acts.DB, Temporal: a.Temporal, TaskQueue: cfg.TaskQueue,
			DetectTaskQueue: cfg.DetectTaskQueue, SourcePolicy: app.SourcePolicy(cfg), Store: a.Acts.Store,
			Models: a.Models, GPUDetectTaskQueue: cfg.GPUDetectTaskQueue, Token: cfg.APIToken,
			ReadToken: cfg.APIReadToken, Retention: retentionPolicy(cfg), Dashboard: dashboard, Log: log})
		g.Go(func() error { return srv.Start(ctx, cfg.APIAddress) })
	}
	return g.Wait()
}

// retentionPolicy is the global retention policy the settings give.
func retentionPolicy(cfg config.Config) contract.Retention {
	return contract.Retention{ChunksDays: cfg.RetainChunksDays, RowsDays: cfg.RetainRowsDays}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if strings.TrimSpace(v) == x {
			return true
		}
	}
	return false
}
