package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/activities"
	"github.com/sightline-video/sightline/internal/annotate"
	"github.com/sightline-video/sightline/internal/config"
	"github.com/sightline-video/sightline/internal/counting"
	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/tracking"
)

// trackSummary is the line `sightline track --json` ends with:
// {"frames":N,"tracks":{"person":N},"lines":{...},"zones":{...}}.
type trackSummary struct {
	Frames int
	Tracks map[string]int // confirmed tracks per class
	Counts *counting.Summary
}

func (s trackSummary) MarshalJSON() ([]byte, error) {
	head, err := json.Marshal(struct {
		Frames int            `json:"frames"`
		Tracks map[string]int `json:"tracks"`
	}{s.Frames, s.Tracks})
	if err != nil {
		return nil, err
	}
	counts, err := json.Marshal(s.Counts)
	if err != nil {
		return nil, err
	}
	// Both are objects: join their members.
	return append(append(head[:len(head)-1], ','), counts[1:]...), nil
}

// runTrack implements `sightline track`: detect, track and count a video
// the way a capture does (each sampled frame goes through the same JPEG
// encoding and decoding as a stored chunk, then the same tracker and
// counter), and print the counts.
func runTrack(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("track", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sightline track [--line NAME=x1,y1,x2,y2]... [--zone NAME=x1,y1,x2,y2,x3,y3,...]... [--every N] [--max-frames N] [--model M] [--json] VIDEO")
		fs.PrintDefaults()
	}
	var tf trackingFlags
	tf.declare(fs)
	openDetector := modelFlags(fs, cfg)
	every := fs.Int("every", 1, "track every Nth frame (frame 0, N, 2N, ...)")
	maxFrames := fs.Int("max-frames", 0, "stop after this many analysed frames (0: the whole video)")
	asJSON := fs.Bool("json", false, "print one JSON line per frame with its tracked detections and events, then the summary")
	annotateDir := fs.String("annotate", "", "also write each analysed frame with track ids, lines and zones drawn as `DIR`/frame_%06d.jpg")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("give one video")
	}
	if *every < 1 {
		return fmt.Errorf("--every %d: must be at least 1", *every)
	}
	if err := tf.cfg.Validate(); err != nil {
		return err
	}
	if *annotateDir != "" {
		if err := os.MkdirAll(*annotateDir, 0o755); err != nil {
			return fmt.Errorf("--annotate: %w", err)
		}
	}
	det, err := openDetector(detector.Options{})
	if err != nil {
		return err
	}
	defer det.Close()
	follower, err := tracking.New(tf.cfg)
	if err != nil {
		return err
	}

	path := fs.Arg(0)
	r, err := openVideo(ctx, path)
	if err != nil {
		return err
	}
	defer r.Close()

	counts := tf.cfg.WithDefaults().Config
	sum := trackSummary{Tracks: map[string]int{}, Counts: counting.NewSummary(counts)}
	classOf := map[int64]string{}
	frame := gocv.NewMat()
	defer frame.Close()
	params := []int{gocv.IMWriteJpegQuality, activities.DefaultJPEGQuality}
	for *maxFrames <= 0 || sum.Frames < *maxFrames {
		if err := ctx.Err(); err != nil {
			return err
		}
		idx, pts, ok := r.Read(&frame)
		if !ok {
			break
		}
		// The bytes a capture would store, decoded as a worker decodes them.
		buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, frame, params)
		if err != nil {
			return fmt.Errorf("track %s frame %d: encode: %w", path, idx, err)
		}
		img, err := detector.DecodeJPEG(buf.GetBytes(), det.InputSize())
		buf.Close()
		if err != nil {
			return fmt.Errorf("track %s frame %d: %w", path, idx, err)
		}
		out, err := det.DetectBatch([]gocv.Mat{img.Mat}, nil)
		if err != nil {
			img.Close()
			return fmt.Errorf("track %s frame %d: %w", path, idx, err)
		}
		dets := out[0]
		detector.ScaleBoxes(img, dets)
		img.Close()
		step := follower.Next(tracking.Frame{Frame: counting.Frame{Index: idx, PTSms: pts}, Detections: dets})
		for i, id := range step.IDs {
			dets[i].TrackID = id
			if id != 0 && classOf[id] == "" {
				classOf[id] = dets[i].Class
				sum.Tracks[dets[i].Class]++
			}
		}
		sum.Frames++
		sum.Counts.Add(step.Events)
		if *annotateDir != "" {
			if err := writeTracked(*annotateDir, idx, frame, dets, counts, sum.Counts, step.Events.Occupancy); err != nil {
				return err
			}
		}
		if *asJSON {
			if err := writeTrackLine(stdout, idx, dets, step.Events); err != nil {
				return err
			}
		}
		r.Skip(*every - 1)
	}
	if sum.Frames == 0 {
		return fmt.Errorf("track %s: no frame could be decoded", path)
	}
	sum.Counts.Add(follower.Finish())
	if *asJSON {
		b, err := json.Marshal(sum)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	return printTrackSummary(stdout, sum)
}

// trackLine is one frame of `sightline track --json`.
type trackLine struct {
	Frame      int          `json:"frame"`
	Detections []detectJSON `json:"detections"`
	Tracks     []int64      `json:"track_ids"` // per detection; 0: no confirmed track
	counting.Events
}

func writeTrackLine(w io.Writer, frame int, dets []detector.Detection, ev counting.Events) error {
	line := trackLine{Frame: frame, Detections: make([]detectJSON, 0, len(dets)), Tracks: make([]int64, 0, len(dets)), Events: ev}
	for _, d := range dets {
		line.Detections = append(line.Detections, detectJSON{Class: d.Class, ClassID: d.ClassID, Score: round32(d.Score, 1000),
			Box: [4]float32{round32(d.Box[0], 10), round32(d.Box[1], 10), round32(d.Box[2], 10), round32(d.Box[3], 10)}})
		line.Tracks = append(line.Tracks, d.TrackID)
	}
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("encode frame %d: %w", frame, err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeTracked writes the frame with its tracked boxes, the lines with
// their counts so far and the zones with how many are in them.
func writeTracked(dir string, idx int, frame gocv.Mat, dets []detector.Detection, cfg counting.Config,
	sum *counting.Summary, occ []counting.Occupancy) error {
	img := frame.Clone()
	defer img.Close()
	var drawn annotate.Counts
	for _, l := range cfg.Lines {
		t := sum.Lines[l.Name]
		drawn.Lines = append(drawn.Lines, annotate.LineCount{Line: l, In: total(t.In), Out: total(t.Out)})
	}
	for _, z := range cfg.Zones {
		n := 0
		for _, o := range occ {
			if o.Zone == z.Name {
				n += o.Count
			}
		}
		drawn.Zones = append(drawn.Zones, annotate.ZoneCount{Zone: z, Inside: n})
	}
	if err := annotate.DrawCounts(&img, drawn); err != nil {
		return err
	}
	var tracked []detector.Detection
	for _, d := range dets {
		if d.TrackID != 0 {
			tracked = append(tracked, d)
		}
	}
	if err := annotate.Draw(&img, tracked); err != nil {
		return err
	}
	data, err := annotate.EncodeJPEG(img, 0)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, fmt.Sprintf("frame_%06d.jpg", idx)), data, 0o644)
}

// total adds up counts per class.
func total(perClass map[string]int) int {
	n := 0
	for _, v := range perClass {
		n += v
	}
	return n
}

func printTrackSummary(w io.Writer, s trackSummary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d frames\n", s.Frames)
	classes := make([]string, 0, len(s.Tracks))
	for c := range s.Tracks {
		classes = append(classes, c)
	}
	sort.Slice(classes, func(i, j int) bool {
		return s.Tracks[classes[i]] > s.Tracks[classes[j]] || s.Tracks[classes[i]] == s.Tracks[classes[j]] && classes[i] < classes[j]
	})
	for _, c := range classes {
		fmt.Fprintf(&b, "  %-14s %d tracks\n", c, s.Tracks[c])
	}
	js, err := json.MarshalIndent(s.Counts, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(&b, "%s\n", js)
	_, err = io.WriteString(w, b.String())
	return err
}
