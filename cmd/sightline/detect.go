package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/config"
	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/source"
)

// imageExts are decoded with imread; anything else is opened as a video.
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".jpe": true, ".png": true, ".bmp": true, ".dib": true,
	".webp": true, ".tif": true, ".tiff": true, ".pbm": true, ".pgm": true, ".ppm": true,
	".pnm": true, ".pxm": true, ".jp2": true, ".sr": true, ".ras": true, ".hdr": true,
	".pic": true, ".exr": true,
}

// detectLine is one --json output line: the detections of one frame.
type detectLine struct {
	Source     string       `json:"source"`
	Frame      int          `json:"frame"`
	Detections []detectJSON `json:"detections"`
}

// detectJSON fixes the key order shown in the docs and rounds the numbers:
// sub-pixel and sub-permille digits are noise.
type detectJSON struct {
	Class   string     `json:"class"`
	ClassID int        `json:"class_id"`
	Score   float32    `json:"score"`
	Box     [4]float32 `json:"box"`
}

// runDetect implements `sightline detect`: run the detector on image and
// video files and print the detections, one line per (sampled) frame.
func runDetect(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("detect", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sightline detect [--model NAME|FILE.onnx [--layout L]] [--classes a,b] [--every N] [--score S] [--json] FILE...")
		fs.PrintDefaults()
	}
	openDetector := modelFlags(fs, cfg)
	classes := fs.String("classes", "", "comma-separated class names to keep (default: all)")
	every := fs.Int("every", 1, "for videos, run on every Nth frame (frame 0, N, 2N, ...)")
	// Rounded so that -h shows 0.3 rather than the float32 widening.
	score := fs.Float64("score", 0, "minimum detection score (default: the model's, 0.3 for YOLOX, 0.4 for PicoDet)")
	asJSON := fs.Bool("json", false, "print one JSON object per frame")
	annotateDir := fs.String("annotate", "", "also write each analysed frame with its boxes drawn as `DIR`/frame_%06d.jpg (DIR/<input name>/... for several inputs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no input files")
	}
	if *every < 1 {
		return fmt.Errorf("--every %d: must be at least 1", *every)
	}
	outDirs, err := annotateDirs(*annotateDir, fs.Args())
	if err != nil {
		return err
	}
	if *score < 0 || *score >= 1 {
		return fmt.Errorf("--score %v: must be between 0 and 1", *score)
	}

	det, err := openDetector(detector.Options{ScoreThreshold: float32(*score)})
	if err != nil {
		return err
	}
	defer det.Close()
	var filter *detector.Filter
	if *classes != "" {
		filter = &detector.Filter{Classes: strings.Split(*classes, ",")}
		if err := filter.Validate(det.Classes()); err != nil {
			return err
		}
	}
	detect := func(img gocv.Mat) ([]detector.Detection, error) {
		res, err := det.DetectBatch([]gocv.Mat{img}, filter)
		if err != nil {
			return nil, err
		}
		return res[0], nil
	}

	emit := func(source string, frame int, img gocv.Mat, dets []detector.Detection) error {
		if dir := outDirs[source]; dir != "" {
			if err := writeAnnotated(dir, frame, img, dets); err != nil {
				return err
			}
		}
		if *asJSON {
			return writeJSONLine(stdout, source, frame, dets)
		}
		_, err := fmt.Fprintf(stdout, "%s frame %d: %s\n", source, frame, summarize(dets))
		return err
	}

	// Keep going after a bad file so one typo does not hide the others'
	// results; every failure is reported at the end.
	var errs []error
	for _, path := range fs.Args() {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if imageExts[strings.ToLower(filepath.Ext(path))] {
			err = detectImage(detect, path, emit)
		} else {
			err = detectVideo(ctx, detect, path, *every, emit)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// modelFlags declares --model and --layout, shared by detect and track, and
// returns what opens the detector they name with opts.
func modelFlags(fs *flag.FlagSet, cfg config.Config) func(opts detector.Options) (*detector.Detector, error) {
	model := fs.String("model", "", "registry model name ("+builtinModels()+", or one from SIGHTLINE_MODELS_DIR) or an .onnx file (default: the embedded YOLOX-Nano)")
	layout := fs.String("layout", "yolox", "layout of an .onnx --model: yolox, yolov5, yolov8 or picodet")
	return func(opts detector.Options) (*detector.Detector, error) {
		reg, err := detector.RegistryFor(cfg.ModelsDir, *model, detector.Layout(*layout))
		if err != nil {
			return nil, err
		}
		if opts.Model, err = reg.Get(""); err != nil {
			return nil, err
		}
		return detector.New(opts)
	}
}

// detectFunc runs the detector, with the command's filter, on one image.
type detectFunc func(img gocv.Mat) ([]detector.Detection, error)

type emitFunc func(source string, frame int, img gocv.Mat, dets []detector.Detection) error

func detectImage(detect detectFunc, path string, emit emitFunc) error {
	// imread only says "empty"; stat first so a missing file says so.
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("detect: %w", err) // *PathError names the file
	}
	img := gocv.IMRead(path, gocv.IMReadColor)
	defer img.Close()
	if img.Empty() {
		return fmt.Errorf("detect %s: cannot decode the image", path)
	}
	dets, err := detect(img)
	if err != nil {
		return fmt.Errorf("detect %s: %w", path, err)
	}
	return emit(path, 0, img, dets)
}

// openVideo opens a video file or URL as the capture opens sources.
func openVideo(ctx context.Context, path string) (*source.Reader, error) {
	spec, err := source.Parse(path)
	if err != nil {
		return nil, err // names the file already
	}
	res, err := (&source.DefaultResolver{Policy: source.Unrestricted}).Resolve(ctx, spec)
	if err != nil {
		return nil, err
	}
	return source.Open(ctx, res, source.Options{})
}

func detectVideo(ctx context.Context, detect detectFunc, path string, every int, emit emitFunc) error {
	r, err := openVideo(ctx, path)
	if err != nil {
		return err
	}
	defer r.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	decoded := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		idx, _, ok := r.Read(&frame)
		if !ok {
			break
		}
		decoded++
		dets, err := detect(frame)
		if err != nil {
			return fmt.Errorf("detect %s frame %d: %w", path, idx, err)
		}
		if err := emit(path, idx, frame, dets); err != nil {
			return err
		}
		// Grab without decoding to BGR is cheaper for the unsampled frames.
		r.Skip(every - 1)
	}
	if decoded == 0 {
		return fmt.Errorf("detect %s: no frame could be decoded", path)
	}
	return nil
}

func writeJSONLine(w io.Writer, source string, frame int, dets []detector.Detection) error {
	line := detectLine{Source: source, Frame: frame, Detections: make([]detectJSON, 0, len(dets))}
	for _, d := range dets {
		line.Detections = append(line.Detections, detectJSON{
			Class:   d.Class,
			ClassID: d.ClassID,
			Score:   round32(d.Score, 1000),
			Box: [4]float32{
				round32(d.Box[0], 10), round32(d.Box[1], 10),
				round32(d.Box[2], 10), round32(d.Box[3], 10),
			},
		})
	}
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("encode detections of %s frame %d: %w", source, frame, err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// summarize gives a short human-readable count per class, most frequent
// first, e.g. "8 person, 1 sports ball (best 0.89)".
func summarize(dets []detector.Detection) string {
	if len(dets) == 0 {
		return "nothing detected"
	}
	counts := map[string]int{}
	var classes []string
	var best float32
	for _, d := range dets {
		if counts[d.Class] == 0 {
			classes = append(classes, d.Class)
		}
		counts[d.Class]++
		best = max(best, d.Score)
	}
	sort.SliceStable(classes, func(i, j int) bool { return counts[classes[i]] > counts[classes[j]] })
	parts := make([]string, len(classes))
	for i, c := range classes {
		parts[i] = fmt.Sprintf("%d %s", counts[c], c)
	}
	return fmt.Sprintf("%s (best %.2f)", strings.Join(parts, ", "), best)
}

func round32(v float32, scale float64) float32 {
	return float32(math.Round(float64(v)*scale) / scale)
}

// builtinModels lists the embedded models for the flag help.
func builtinModels() string {
	var names []string
	for _, s := range detector.Builtin() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}
