package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/counting"
	"github.com/sightline-video/sightline/internal/detectconf"
	"github.com/sightline-video/sightline/internal/tracking"
)

// settingsFlags declares the capture-settings flags, the same for `capture`
// and `schedule create`, and returns what builds the contract.Settings after
// fs is parsed, validated as the API and the workflow validate them.
func settingsFlags(fs *flag.FlagSet) func() (contract.Settings, error) {
	var (
		s        contract.Settings
		duration time.Duration
		model    string
		classes  string
		minScore float64
		track    trackingFlags
	)
	fs.IntVar(&s.EveryMS, "every-ms", 0, "sample one frame per this many ms of stream time (0: every frame)")
	fs.IntVar(&s.ChunkFrames, "chunk-frames", 0, fmt.Sprintf("frames per chunk (0: %d)", contract.DefaultChunkFrames))
	fs.IntVar(&s.MaxFrames, "max-frames", 0, "stop after this many sampled frames (0: no limit)")
	fs.DurationVar(&duration, "duration", 0, "stop after this long: stream time of a file, wall-clock time of a live source (0: no limit)")
	fs.IntVar(&s.DetectConcurrency, "detect-concurrency", 0, fmt.Sprintf("detection activities in flight (0: %d)", contract.DefaultDetectConcurrency))
	fs.BoolVar(&s.GPU, "gpu", false, "detect on the GPU workers' task queue")
	fs.StringVar(&s.DetectTaskQueue, "detect-queue", "", "detect on this task queue (default: $SIGHTLINE_DETECT_TASK_QUEUE, or the GPU queue with --gpu)")
	fs.BoolVar(&s.SkipRollup, "skip-rollup", false, "leave the rollup to a later run")
	fs.StringVar(&s.Mode, "mode", "", "when detection falls behind: complete (detect every frame, catch up) or realtime (newest chunks first, skip the stale); default: the stream's, else realtime for live sources")
	fs.Float64Var(&s.MaxLagSeconds, "max-lag", 0, "realtime mode: seconds a chunk may wait before it is skipped (0: two chunks' worth)")
	fs.StringVar(&model, "model", "", "detection model (default: the stream's, else the worker's)")
	fs.StringVar(&classes, "classes", "", "keep only these classes, comma-separated, e.g. person,car")
	fs.Float64Var(&minScore, "min-score", 0, "minimum detection score, in [0, 1) (0: the model's)")
	track.declare(fs)
	return func() (contract.Settings, error) {
		if track.set {
			s.Tracking = &track.cfg
		}
		if duration < 0 {
			return s, fmt.Errorf("--duration %s: must not be negative", duration)
		}
		s.DurationSeconds = duration.Seconds()
		if model != "" || classes != "" || minScore != 0 {
			s.Detect = &detectconf.Config{Model: model}
			if classes != "" || minScore != 0 {
				f := &detectconf.Filter{MinScore: float32(minScore)}
				for _, c := range strings.Split(classes, ",") {
					if c = strings.TrimSpace(c); c != "" {
						f.Classes = append(f.Classes, c)
					}
				}
				s.Detect.Filter = f
			}
		}
		if err := s.Validate(); err != nil {
			return s, fmt.Errorf("invalid capture settings: %w", err)
		}
		return s, nil
	}
}

// trackingFlags declares the tracking flags, shared by the capture settings
// and `sightline track`.
type trackingFlags struct {
	cfg tracking.Config
	set bool // a flag was given
}

func (t *trackingFlags) declare(fs *flag.FlagSet) {
	fs.Func("line", "count crossings of the line NAME=x1,y1,x2,y2 in image pixels, from A to B: in is from its left to its right as seen from A looking at B, with y down (repeatable)", func(v string) error {
		l, err := counting.ParseLine(v)
		t.cfg.Lines, t.set = append(t.cfg.Lines, l), true
		return err
	})
	fs.Func("zone", "count visits to the polygon NAME=x1,y1,x2,y2,x3,y3,... (repeatable)", func(v string) error {
		z, err := counting.ParseZone(v)
		t.cfg.Zones, t.set = append(t.cfg.Zones, z), true
		return err
	})
	fs.Func("debounce-frames", fmt.Sprintf("frames an object must stay on a line's or zone's other side to count (default %d)", counting.DefaultDebounce), func(v string) error {
		n, err := strconv.Atoi(v)
		t.cfg.Debounce, t.set = n, true
		return err
	})
	fs.Func("tracker", `the tracker's thresholds as JSON, e.g. {"max_lost":60,"high_score":0.5} (docs/tracking.md)`, func(v string) error {
		t.set = true
		dec := json.NewDecoder(strings.NewReader(v))
		dec.DisallowUnknownFields()
		return dec.Decode(&t.cfg.Tracker)
	})
}
