package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/detectconf"
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
	)
	fs.IntVar(&s.EveryMS, "every-ms", 0, "sample one frame per this many ms of stream time (0: every frame)")
	fs.IntVar(&s.ChunkFrames, "chunk-frames", 0, fmt.Sprintf("frames per chunk (0: %d)", contract.DefaultChunkFrames))
	fs.IntVar(&s.MaxFrames, "max-frames", 0, "stop after this many sampled frames (0: no limit)")
	fs.DurationVar(&duration, "duration", 0, "stop after this long: stream time of a file, wall-clock time of a live source (0: no limit)")
	fs.IntVar(&s.DetectConcurrency, "detect-concurrency", 0, fmt.Sprintf("detection activities in flight (0: %d)", contract.DefaultDetectConcurrency))
	fs.BoolVar(&s.GPU, "gpu", false, "detect on the GPU workers' task queue")
	fs.StringVar(&s.DetectTaskQueue, "detect-queue", "", "detect on this task queue (default: $SIGHTLINE_DETECT_TASK_QUEUE, or the GPU queue with --gpu)")
	fs.BoolVar(&s.SkipRollup, "skip-rollup", false, "leave the rollup to a later run")
	fs.StringVar(&model, "model", "", "detection model (default: the stream's, else the worker's)")
	fs.StringVar(&classes, "classes", "", "keep only these classes, comma-separated, e.g. person,car")
	fs.Float64Var(&minScore, "min-score", 0, "minimum detection score, in [0, 1) (0: the model's)")
	return func() (contract.Settings, error) {
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
