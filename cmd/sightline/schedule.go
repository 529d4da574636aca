package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/sightline-video/sightline/internal/config"
	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/schedule"
)

const scheduleUsage = `usage: sightline schedule <command> [flags]

commands:
  create --stream S (--every 1h | --cron "0 * * * *") [--offset D] [--id ID]
         [--paused] [--note T] [capture settings: --duration 5m --every-ms N
         --max-frames N --chunk-frames N --detect-concurrency N --gpu
         --detect-queue Q --skip-rollup --model M --classes a,b --min-score S
         --mode complete|realtime --max-lag S --line N=x1,y1,x2,y2 --zone N=...
         --debounce-frames N --tracker JSON]
  list [--json]
  describe ID [--json]
  pause ID [--note T]
  unpause ID [--note T]
  trigger ID            start a capture now (skipped while one is running)
  update ID (--every D | --cron C) [--offset D]
  delete ID             remove the schedule; a running capture finishes

Schedules start CaptureWorkflow on $SIGHTLINE_TASK_QUEUE. A start that falls
due while the stream's previous capture still runs is skipped (overlap SKIP);
after a Temporal outage only starts missed by under 5 minutes are made up.
`

// scheduleTimeout bounds one schedule command, since the Temporal client
// otherwise retries an unreachable server until the context ends.
const scheduleTimeout = 30 * time.Second

// runSchedule implements `sightline schedule`: recurring captures as
// Temporal schedules, managed directly on Temporal.
func runSchedule(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("missing command\n%s", scheduleUsage)
	}
	sub, args := args[0], args[1:]
	if sub == "help" || sub == "-h" || sub == "--help" {
		fmt.Fprint(stdout, scheduleUsage)
		return nil
	}
	fs := flag.NewFlagSet("schedule "+sub, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), scheduleUsage) }
	var (
		spec     schedule.Spec
		settings func() (contract.Settings, error)
		note     string
		asJSON   bool
	)
	// want says how many positional arguments (the schedule id) sub takes.
	want := 1
	switch sub {
	case "create":
		want = 0
		fs.StringVar(&spec.StreamID, "stream", "", "stream id to capture (required)")
		fs.StringVar(&spec.ID, "id", "", "schedule id (default capture-<stream>)")
		fs.StringVar(&spec.Every, "every", "", "capture every this long, e.g. 1h (at least 10s)")
		fs.StringVar(&spec.Cron, "cron", "", `capture on this 5-field cron calendar, in UTC, e.g. "0 * * * *"`)
		fs.StringVar(&spec.Offset, "offset", "", "with --every: shift the starts by this much, e.g. 15m")
		settings = settingsFlags(fs)
		fs.BoolVar(&spec.Paused, "paused", false, "create the schedule paused")
		fs.StringVar(&spec.Note, "note", "", "note shown with the schedule")
	case "list":
		want = 0
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	case "describe":
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	case "pause", "unpause":
		fs.StringVar(&note, "note", "", "why; replaces the schedule's note")
	case "update":
		fs.StringVar(&spec.Every, "every", "", "capture every this long, e.g. 1h (at least 10s)")
		fs.StringVar(&spec.Cron, "cron", "", `capture on this 5-field cron calendar, in UTC`)
		fs.StringVar(&spec.Offset, "offset", "", "with --every: shift the starts by this much")
	case "trigger", "delete":
	default:
		return fmt.Errorf("unknown command %q\n%s", sub, scheduleUsage)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != want {
		if want == 0 {
			return fmt.Errorf("schedule %s: unexpected argument %q", sub, pos[0])
		}
		return fmt.Errorf("schedule %s: want exactly one schedule id, got %d arguments", sub, len(pos))
	}
	var id string
	if want == 1 {
		id = pos[0]
	}

	// Check what can be checked before connecting, so a typo is not reported
	// as a connection problem.
	switch sub {
	case "create":
		if spec.Capture, err = settings(); err != nil {
			return err
		}
		if err := spec.Validate(); err != nil {
			return err
		}
	case "update":
		t := spec.Timing()
		if err := t.Validate(); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithTimeout(ctx, scheduleTimeout)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		// Only the client's warnings: its info lines would drown the output.
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", cfg.TemporalAddress, err)
	}
	defer c.Close()

	switch sub {
	case "create":
		spec, err := schedule.Create(ctx, c, schedule.Queues{Main: cfg.TaskQueue, Detect: cfg.DetectTaskQueue, GPUDetect: cfg.GPUDetectTaskQueue}, spec)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schedule %s created\n", spec.ID)
		d, err := schedule.Describe(ctx, c, spec.ID)
		if err != nil {
			return err
		}
		printSchedule(stdout, d)
	case "list":
		list, err := schedule.List(ctx, c)
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(stdout, list)
		}
		printScheduleList(stdout, list)
	case "describe":
		d, err := schedule.Describe(ctx, c, id)
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(stdout, d)
		}
		printSchedule(stdout, d)
	case "pause":
		if err := schedule.Pause(ctx, c, id, note); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schedule %s paused\n", id)
	case "unpause":
		if err := schedule.Unpause(ctx, c, id, note); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schedule %s unpaused\n", id)
	case "trigger":
		if err := schedule.Trigger(ctx, c, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schedule %s triggered: a capture starts now unless one of it is still running\n", id)
	case "update":
		t, err := schedule.Update(ctx, c, id, spec.Timing())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schedule %s now runs %s\n", id, when(t.Every, t.Cron, t.Offset))
	case "delete":
		if err := schedule.Delete(ctx, c, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schedule %s deleted\n", id)
	}
	return nil
}

// parseInterspersed parses flags that may come after positional arguments
// ("pause ID --note T"), which flag.Parse alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// when describes a timing for people: "every 1h", "every 1h at +15m", "cron 0 * * * *".
func when(every, cron, offset string) string {
	switch {
	case cron != "":
		return "cron " + cron
	case offset != "":
		return "every " + every + " at +" + offset
	default:
		return "every " + every
	}
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printScheduleList(w io.Writer, list []schedule.Summary) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no schedules")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTREAM\tWHEN\tPAUSED\tNEXT\tLAST CAPTURE\tNOTE")
	for _, s := range list {
		last := "-"
		if s.LastAction != nil {
			last = s.LastAction.CaptureID
		}
		next := s.NextActionTime
		if s.Paused {
			next = nil // Temporal lists the times a paused schedule would fire
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.StreamID, when(s.Every, s.Cron, s.Offset),
			yesNo(s.Paused), fmtTime(next), last, s.Note)
	}
	tw.Flush()
}

func printSchedule(w io.Writer, d *schedule.Schedule) {
	s := d.Spec
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) {
		fmt.Fprintf(tw, "%s:\t"+format+"\n", append([]any{k}, args...)...)
	}
	row("id", "%s", s.ID)
	row("stream", "%s", s.StreamID)
	row("when", "%s (UTC)", when(s.Every, s.Cron, s.Offset))
	c := s.Capture
	row("capture", "every_ms=%d duration_seconds=%g max_frames=%d chunk_frames=%d detect_concurrency=%d skip_rollup=%v",
		c.EveryMS, c.DurationSeconds, c.MaxFrames, c.ChunkFrames, c.DetectConcurrency, c.SkipRollup)
	row("paused", "%s", yesNo(s.Paused))
	row("note", "%s", s.Note)
	row("task queue", "%s (detect: %s)", d.TaskQueue, d.DetectTaskQueue)
	row("capture ids", "%s-<scheduled time>", d.WorkflowIDPrefix)
	row("policy", "overlap %s, catch-up window %s", d.Overlap, d.CatchupWindow)
	row("actions", "%d taken, %d skipped (overlap), %d missed (catch-up window)", d.ActionsTaken, d.SkippedOverlap, d.MissedCatchup)
	running := strings.Join(d.RunningWorkflows, ", ")
	if running == "" {
		running = "none"
	}
	row("running", "%s", running)
	label := "next:"
	if s.Paused {
		label = "next if unpaused:" // Temporal still computes them
	}
	for _, t := range d.NextActionTimes {
		fmt.Fprintf(tw, "%s\t%s\n", label, fmtTime(&t))
		label = ""
	}
	tw.Flush()
	if len(d.RecentActions) == 0 {
		return
	}
	fmt.Fprintln(w, "recent captures:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SCHEDULED\tSTARTED\tCAPTURE")
	for i := len(d.RecentActions) - 1; i >= 0; i-- { // newest first
		a := d.RecentActions[i]
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", fmtTime(&a.ScheduledAt), fmtTime(&a.StartedAt), a.CaptureID)
	}
	tw.Flush()
}
