package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/sightline-video/sightline/internal/config"
	"github.com/sightline-video/sightline/internal/contract"
)

// captureIO is what runCapture talks to, so tests can play the user.
type captureIO struct {
	out       io.Writer
	in        io.Reader      // answers to the Ctrl-C question
	interrupt chan os.Signal // Ctrl-C
}

// runCapture starts a CaptureWorkflow for SOURCE and follows it with a
// progress bar until it ends. Ctrl-C asks whether to cancel the workflow or
// leave it running in Temporal.
func runCapture(ctx context.Context, cfg config.Config, c client.Client, args []string, cio captureIO) error {
	fs := flag.NewFlagSet("capture", flag.ContinueOnError)
	fs.SetOutput(cio.out)
	stream := fs.String("stream", "", "stream id (default: derived from the source)")
	settings := settingsFlags(fs)
	detach := fs.Bool("detach", false, "start the capture and return without following it")
	fs.Usage = func() {
		fmt.Fprintln(cio.out, "usage: sightline capture [flags] SOURCE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("capture needs exactly one SOURCE (a file path or URL)")
	}
	set, err := settings()
	if err != nil {
		return err
	}
	source := fs.Arg(0)
	if *stream == "" {
		*stream = streamIDFor(source)
	}
	if err := contract.ValidateStreamID(*stream); err != nil {
		return err
	}
	if !strings.Contains(source, "://") {
		abs, err := filepath.Abs(source)
		if err != nil {
			return fmt.Errorf("source %q: %w", source, err)
		}
		source = abs
	}
	id := contract.NewCaptureID(*stream, time.Now())
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: cfg.TaskQueue,
		Memo: map[string]any{"stream_id": *stream}}, contract.CaptureWorkflow, contract.CaptureInput{
		StreamID: *stream, Source: source,
		Settings: set.WithQueues(cfg.DetectTaskQueue, cfg.GPUDetectTaskQueue).WithDefaults(),
	})
	if err != nil {
		return fmt.Errorf("start capture of %s: %w", source, err)
	}
	fmt.Fprintf(cio.out, "capture %s started (stream %q, task queue %s)\n", id, *stream, cfg.TaskQueue)
	if *detach {
		return nil
	}

	done := make(chan error, 1)
	var res contract.CaptureResult
	go func() { done <- run.Get(ctx, &res) }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var last contract.CaptureProgress
	for {
		select {
		case err := <-done:
			if last.Phase != "" {
				last.Phase, last.ChunksDetected, last.Chunks = "done", res.Chunks, res.Chunks
				last.FramesCaptured, last.Detections = res.Frames, res.Detections
				fmt.Fprintf(cio.out, "\r%s\n", progressLine(last))
			}
			if err != nil {
				return fmt.Errorf("capture %s: %w", id, err)
			}
			fmt.Fprintf(cio.out, "capture %s completed: %d frames in %d chunks, %d detections\n",
				id, res.Frames, res.Chunks, res.Detections)
			return nil
		case <-tick.C:
			qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			v, err := c.QueryWorkflow(qctx, id, "", contract.ProgressQuery)
			cancel()
			if err == nil && v.Get(&last) == nil {
				fmt.Fprintf(cio.out, "\r%s", progressLine(last))
			}
		case <-cio.interrupt:
			fmt.Fprint(cio.out, "\nCancel the capture workflow? Otherwise it keeps running in Temporal. [y/N] ")
			answer, _ := bufio.NewReader(cio.in).ReadString('\n')
			if a := strings.ToLower(strings.TrimSpace(answer)); a == "y" || a == "yes" {
				if err := c.CancelWorkflow(ctx, id, ""); err != nil {
					return fmt.Errorf("cancel capture %s: %w", id, err)
				}
				err := <-done
				fmt.Fprintf(cio.out, "capture %s canceled\n", id)
				if err != nil && !temporal.IsCanceledError(err) {
					return fmt.Errorf("capture %s: %w", id, err)
				}
				return nil
			}
			fmt.Fprintf(cio.out, "left running: follow it at http://%s:8233/namespaces/%s/workflows/%s\n",
				strings.Split(cfg.TemporalAddress, ":")[0], cfg.TemporalNamespace, id)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// progressLine renders a one-line progress bar of detected over captured chunks.
func progressLine(p contract.CaptureProgress) string {
	const width = 24
	filled := 0
	if p.Chunks > 0 {
		filled = width * p.ChunksDetected / p.Chunks
	}
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	return fmt.Sprintf("[%s] %-9s %5d frames captured, chunks %d/%d detected, %6d detections, lag %5.1fs ",
		bar, p.Phase, p.FramesCaptured, p.ChunksDetected, p.Chunks, p.Detections, float64(p.LagMS)/1000)
}

var notIDChars = regexp.MustCompile(`[^a-z0-9_-]+`)

// streamIDFor derives a stream id from a source: a file's base name without
// extension, or a URL's host and last path element.
func streamIDFor(source string) string {
	s := source
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
		if q := strings.IndexAny(s, "?#"); q >= 0 {
			s = s[:q]
		}
		host, rest, _ := strings.Cut(s, "/")
		s = host + "-" + filepath.Base("/"+rest)
	} else {
		s = strings.TrimSuffix(filepath.Base(s), filepath.Ext(s))
	}
	s = strings.Trim(notIDChars.ReplaceAllString(strings.ToLower(s), "-"), "-_")
	if len(s) > 63 {
		s = s[:63]
	}
	if s == "" {
		s = "stream"
	}
	return s
}

// interruptChannel delivers Ctrl-C to runCapture instead of ending the process.
func interruptChannel() chan os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	return ch
}
