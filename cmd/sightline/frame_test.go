package main

import (
	"bytes"
	"context"
	"image"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/api"
	"github.com/sightline-video/sightline/internal/chunk"
	"github.com/sightline-video/sightline/internal/testenv"
)

func decodeFile(t *testing.T, path string) gocv.Mat {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := gocv.IMDecode(b, gocv.IMReadColor)
	if err != nil || m.Empty() {
		t.Fatalf("decode %s: %v", path, err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// differs reports whether two pixels differ by more than JPEG noise.
func differs(a, b gocv.Mat, p image.Point) bool {
	u, v := a.GetVecbAt(p.Y, p.X), b.GetVecbAt(p.Y, p.X)
	d := 0
	for c := 0; c < 3; c++ {
		d += max(int(u[c])-int(v[c]), int(v[c])-int(u[c]))
	}
	return d > 90
}

func TestDetectAnnotateImage(t *testing.T) {
	path := testenv.SharedFile(t, "messi5.jpg")
	dir := filepath.Join(t.TempDir(), "out")
	var out bytes.Buffer
	if err := runDetect(context.Background(), testenv.Config(), []string{"--json", "--annotate", dir, path}, &out); err != nil {
		t.Fatal(err)
	}
	lines := parseLines(t, out.String())
	if len(lines) != 1 || len(lines[0].Detections) == 0 {
		t.Fatalf("JSON output changed with --annotate:\n%s", out.String())
	}
	orig := decodeFile(t, path)
	ann := decodeFile(t, filepath.Join(dir, "frame_000000.jpg"))
	if ann.Cols() != orig.Cols() || ann.Rows() != orig.Rows() {
		t.Fatalf("annotated is %dx%d, input %dx%d", ann.Cols(), ann.Rows(), orig.Cols(), orig.Rows())
	}
	// The left edge of every box below its label has changed.
	for _, d := range lines[0].Detections {
		x, y1, y2 := int(d.Box[0]+0.5), int(d.Box[1])+30, int(d.Box[3])-2
		if x >= ann.Cols() || y2-y1 < 10 {
			continue
		}
		n := 0
		for y := y1; y < y2; y++ {
			if differs(orig, ann, image.Pt(max(x, 0), y)) || differs(orig, ann, image.Pt(min(x+1, ann.Cols()-1), y)) {
				n++
			}
		}
		if n < (y2-y1)/2 {
			t.Errorf("%s box %v: only %d of %d left edge pixels drawn", d.Class, d.Box, n, y2-y1)
		}
	}
	changed := 0
	for y := 0; y < ann.Rows(); y++ {
		for x := 0; x < ann.Cols(); x++ {
			if differs(orig, ann, image.Pt(x, y)) {
				changed++
			}
		}
	}
	if area := ann.Cols() * ann.Rows(); changed == 0 || changed > area/5 {
		t.Errorf("%d of %d pixels changed: boxes and labels should change a few", changed, area)
	}
}

func TestDetectAnnotateSeveralInputs(t *testing.T) {
	video, img := testenv.SharedFile(t, "vtest.avi"), testenv.SharedFile(t, "messi5.jpg")
	dir := t.TempDir()
	if err := runDetect(context.Background(), testenv.Config(), []string{"--every", "300", "--annotate", dir, video, img}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vtest/frame_000000.jpg", "vtest/frame_000300.jpg", "vtest/frame_000600.jpg", "messi5/frame_000000.jpg"} {
		m := decodeFile(t, filepath.Join(dir, name))
		if strings.HasPrefix(name, "vtest") && (m.Cols() != 768 || m.Rows() != 576) {
			t.Errorf("%s is %dx%d, want 768x576", name, m.Cols(), m.Rows())
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "vtest"))
	if len(entries) != 3 {
		t.Errorf("vtest: %d files, want the 3 analysed frames", len(entries))
	}
}

func TestAnnotateDirsNames(t *testing.T) {
	root := t.TempDir()
	dirs, err := annotateDirs(root, []string{"/a/cam.avi", "/b/cam.avi", "rtsp://host/live stream", "/a/cam.avi"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"/a/cam.avi": "cam", "/b/cam.avi": "cam-2", "rtsp://host/live stream": "live_stream"}
	for in, name := range want {
		if dirs[in] != filepath.Join(root, name) {
			t.Errorf("%s → %s, want %s", in, dirs[in], filepath.Join(root, name))
		}
	}
	if _, err := annotateDirs(filepath.Join(testenv.SharedFile(t, "messi5.jpg"), "x"), []string{"a"}); err == nil {
		t.Error("--annotate under a file: want an error")
	}
}

// frameServer is the real API on a fresh database and bucket holding one
// capture whose chunk holds messi5.jpg as frame 0, with one detection.
func frameServer(t *testing.T) (url string, stored []byte) {
	t.Helper()
	pool, _ := testenv.DB(t)
	store := testenv.Store(t)
	stored, err := os.ReadFile(testenv.SharedFile(t, "messi5.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := chunk.Encode([]chunk.Frame{{Index: 0, JPEG: stored}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := chunk.Key("pitch", "cap-1", 0)
	if err := store.Put(ctx, key, data, "application/x-tar"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO streams (id, name, source) VALUES ('pitch', 'Pitch', '/m.jpg')`,
		`INSERT INTO captures (id, stream_id, source, chunk_frames, started_at) VALUES ('cap-1', 'pitch', '/m.jpg', 1, now())`,
		`INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
		 VALUES ('cap-1', 0, 'pitch', '` + key + `', 0, 1, 0, 0)`,
		`INSERT INTO frames (capture_id, frame_index, stream_id, chunk_seq, pts_ms, ts, width, height, detection_count, model)
		 VALUES ('cap-1', 0, 'pitch', 0, 0, now(), 548, 342, 1, 'yolox')`,
		`INSERT INTO detections (capture_id, frame_index, det_index, stream_id, ts, class_id, class_name, score, x1, y1, x2, y2)
		 VALUES ('cap-1', 0, 0, 'pitch', now(), 0, 'person', 0.9, 200, 60, 340, 330)`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	srv := httptest.NewServer(api.New(api.Deps{DB: pool, Store: store}).Handler())
	t.Cleanup(srv.Close)
	return srv.URL, stored
}

func TestFrameCommand(t *testing.T) {
	url, stored := frameServer(t)
	dir := t.TempDir()
	ctx := context.Background()

	plain := filepath.Join(dir, "plain.jpg")
	var out bytes.Buffer
	if err := runFrame(ctx, testenv.Config(), []string{"--api", url, "--capture", "cap-1", "--index", "0", "-o", plain}, &out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(plain); !bytes.Equal(got, stored) {
		t.Errorf("plain frame: %d bytes, not the %d stored", len(got), len(stored))
	}
	if !strings.Contains(out.String(), "wrote "+plain) {
		t.Errorf("output %q does not name the file", out.String())
	}

	ann := filepath.Join(dir, "ann.jpg")
	out.Reset()
	if err := runFrame(ctx, testenv.Config(), []string{"--api", url, "--capture", "cap-1", "--index", "0", "--annotated", "-o", ann}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1 detections drawn") {
		t.Errorf("output %q does not say what was drawn", out.String())
	}
	a, p := decodeFile(t, ann), decodeFile(t, plain)
	if a.Cols() != p.Cols() || a.Rows() != p.Rows() {
		t.Fatalf("annotated is %dx%d, plain %dx%d", a.Cols(), a.Rows(), p.Cols(), p.Rows())
	}
	if !differs(a, p, image.Pt(200, 200)) || differs(a, p, image.Pt(450, 100)) {
		t.Error("the annotated frame should differ on the box edge (200,200) and nowhere near (450,100)")
	}

	// A filter that leaves nothing, written to standard output.
	out.Reset()
	if err := runFrame(ctx, testenv.Config(), []string{"--api", url + "/", "--capture", "cap-1", "--index", "0", "--annotated",
		"--classes", "car", "--min-score", "0.5", "-o", "-"}, &out); err != nil {
		t.Fatal(err)
	}
	if m, err := gocv.IMDecode(out.Bytes(), gocv.IMReadColor); err != nil || m.Empty() || differs(m, p, image.Pt(200, 200)) {
		t.Errorf("--classes car: want the plain-looking frame on stdout (%v)", err)
	} else {
		m.Close()
	}
}

func TestFrameCommandErrors(t *testing.T) {
	url, _ := frameServer(t)
	dir := t.TempDir()
	ctx := context.Background()
	outFile := filepath.Join(dir, "x.jpg")
	for _, c := range []struct {
		args   []string
		substr string
	}{
		{[]string{"--index", "0", "-o", outFile}, "--capture is required"},
		{[]string{"--capture", "cap-1", "-o", outFile}, "--index is required"},
		{[]string{"--capture", "cap-1", "--index", "0"}, "-o is required"},
		{[]string{"--capture", "cap-1", "--index", "0", "--min-score", "3", "-o", outFile}, "--min-score"},
		{[]string{"--capture", "nope", "--index", "0", "-o", outFile}, `capture "nope" not found (HTTP 404)`},
		{[]string{"--capture", "cap-1", "--index", "5", "-o", outFile}, "frame 5 of capture cap-1: frame 5 of capture \"cap-1\" is not stored"},
		{[]string{"--capture", "cap-1", "--index", "0", "-o", filepath.Join(dir, "no", "such", "dir.jpg")}, "no/such"},
	} {
		err := runFrame(ctx, testenv.Config(), append([]string{"--api", url}, c.args...), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.substr) {
			t.Errorf("frame %q: error %v, want one containing %q", c.args, err, c.substr)
		}
	}
	if _, err := os.Stat(outFile); !os.IsNotExist(err) {
		t.Errorf("a failed fetch left %s behind (%v)", outFile, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	start := time.Now()
	err := runFrame(ctx, testenv.Config(), []string{"--api", "http://127.0.0.1:1", "--capture", "c", "--index", "0", "-o", outFile}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "is the API running") || time.Since(start) > 5*time.Second {
		t.Errorf("API down: %v after %v, want a quick error suggesting the API is not running", err, time.Since(start))
	}
}
