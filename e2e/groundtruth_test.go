package e2e

import (
	"encoding/json"
	"image"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/testenv"
)

// walker is a person cut from a test image, pasted along a path: its
// anchor (bottom centre) goes in a straight line from (x0, y0) to (x1, y1)
// over frames [from, to), then back again until back if back > to.
type walker struct {
	sprite         int
	scale          float64
	x0, y0, x1, y1 float64
	from, to, back int
}

// anchor is where the walker's bottom centre is at frame i, if on screen.
func (w walker) anchor(i int) (x, y float64, ok bool) {
	end := max(w.to, w.back)
	if i < w.from || i >= end {
		return 0, 0, false
	}
	t := float64(i-w.from) / float64(w.to-w.from)
	if i >= w.to { // on the way back
		t = 1 - float64(i-w.to)/float64(w.back-w.to)
	}
	return w.x0 + (w.x1-w.x0)*t, w.y0 + (w.y1-w.y0)*t, true
}

// groundTruthScene is 160 frames at 10 frames/s, 768x432, with a counting
// line across y = 250 (in: downwards). Five appearances of people:
//
//   - A walks down across the line (in), near the camera (large);
//   - B walks up across it (out), further away, and passes A on the way;
//   - C walks down towards the line and turns back 30 px before it;
//   - D walks down across it (in), leaves, and comes back 4 s later (longer
//     than the tracker keeps a lost track) to cross in again.
//
// Expected: 5 tracks, in 3, out 1.
var groundTruthScene = []walker{
	{sprite: 0, scale: 1.6, x0: 120, y0: 150, x1: 300, y1: 400, from: 0, to: 80},
	{sprite: 1, scale: 1.1, x0: 360, y0: 420, x1: 180, y1: 120, from: 10, to: 90},
	{sprite: 2, scale: 1.3, x0: 540, y0: 110, x1: 540, y1: 220, from: 0, to: 50, back: 100},
	{sprite: 1, scale: 1.2, x0: 670, y0: 140, x1: 670, y1: 400, from: 0, to: 70},
	{sprite: 1, scale: 1.2, x0: 670, y0: 140, x1: 670, y1: 400, from: 110, to: 160},
}

// spriteBoxes are people in vtest.avi's first frame, as the default model
// finds them (scores 0.85, 0.81 and 0.76), with a few pixels of margin.
var spriteBoxes = []image.Rectangle{
	image.Rect(637, 233, 689, 328),
	image.Rect(246, 214, 289, 313),
	image.Rect(497, 152, 537, 238),
}

// writeGroundTruthVideo renders groundTruthScene as an MJPEG AVI.
func writeGroundTruthVideo(t *testing.T, path string) {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(testenv.SharedFile(t, "vtest.avi"))
	if err != nil {
		t.Fatal(err)
	}
	src := gocv.NewMat()
	defer src.Close()
	if !vc.Read(&src) {
		t.Fatal("vtest.avi: no first frame")
	}
	vc.Close()
	var sprites []gocv.Mat
	for _, r := range spriteBoxes {
		sprites = append(sprites, src.Region(r))
	}
	defer func() {
		for _, s := range sprites {
			s.Close()
		}
	}()

	const w, h = 768, 432
	bg := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer bg.Close()
	rng := rand.New(rand.NewSource(1))
	noise := make([]byte, w*h*3)
	for i := range noise {
		noise[i] = byte(110 + rng.Intn(20))
	}
	noisy, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC3, noise)
	if err != nil {
		t.Fatal(err)
	}
	noisy.CopyTo(&bg)
	noisy.Close()

	vw, err := gocv.VideoWriterFile(path, "MJPG", 10, w, h, true)
	if err != nil {
		t.Fatal(err)
	}
	defer vw.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	scaled := gocv.NewMat()
	defer scaled.Close()
	for i := range 160 {
		bg.CopyTo(&frame)
		for _, wk := range groundTruthScene {
			x, y, ok := wk.anchor(i)
			if !ok {
				continue
			}
			sp := sprites[wk.sprite]
			sw, sh := int(float64(sp.Cols())*wk.scale), int(float64(sp.Rows())*wk.scale)
			gocv.Resize(sp, &scaled, image.Pt(sw, sh), 0, 0, gocv.InterpolationLinear)
			r := image.Rect(int(x)-sw/2, int(y)-sh, int(x)-sw/2+sw, int(y)).Intersect(image.Rect(0, 0, w, h))
			if r.Empty() {
				continue
			}
			src := scaled.Region(image.Rect(r.Min.X-(int(x)-sw/2), r.Min.Y-(int(y)-sh), r.Max.X-(int(x)-sw/2), r.Max.Y-(int(y)-sh)))
			dst := frame.Region(r)
			src.CopyTo(&dst)
			src.Close()
			dst.Close()
		}
		if err := vw.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTrackingGroundTruth counts a synthetic scene whose answer is known:
// people crossing a line both ways at different depths, passing each
// other, one turning back before the line, and one coming back after the
// tracker forgot it. Unique objects and crossings must be exact.
func TestTrackingGroundTruth(t *testing.T) {
	dir := t.TempDir()
	video := filepath.Join(dir, "scene.avi")
	writeGroundTruthVideo(t, video)
	annotated := filepath.Join(testenv.RepoRoot(t), ".data", "artifacts", "groundtruth")
	_ = os.RemoveAll(annotated)
	cmd := exec.Command(binary, "track", "--json", "--line", "line=0,250,768,250", "--annotate", annotated, video)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sightline track: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var got struct {
		Frames int                                  `json:"frames"`
		Tracks map[string]int                       `json:"tracks"`
		Lines  map[string]map[string]map[string]int `json:"lines"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatal(err)
	}
	t.Logf("scene: %s (annotated frames in %s)", lines[len(lines)-1], annotated)
	if got.Frames != 160 {
		t.Errorf("%d frames, want 160", got.Frames)
	}
	if got.Tracks["person"] != len(groundTruthScene) {
		t.Errorf("%d person tracks, want %d", got.Tracks["person"], len(groundTruthScene))
	}
	if in, out := got.Lines["line"]["in"]["person"], got.Lines["line"]["out"]["person"]; in != 3 || out != 1 {
		t.Errorf("line counted in %d, out %d; want in 3, out 1", in, out)
	}
}
