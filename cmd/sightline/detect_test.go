package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/testenv"
)

func parseLines(t *testing.T, out string) []detectLine {
	t.Helper()
	var lines []detectLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l detectLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("output line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

func TestDetectImageJSON(t *testing.T) {
	path := testenv.SharedFile(t, "messi5.jpg")
	var out bytes.Buffer
	if err := runDetect(context.Background(), testenv.Config(), []string{"--json", path}, &out); err != nil {
		t.Fatal(err)
	}
	lines := parseLines(t, out.String())
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1:\n%s", len(lines), out.String())
	}
	l := lines[0]
	if l.Source != path || l.Frame != 0 {
		t.Errorf("source %q frame %d, want %q frame 0", l.Source, l.Frame, path)
	}
	found := map[string]bool{}
	for _, d := range l.Detections {
		found[d.Class] = true
		if d.Score <= 0.3 || d.Score > 1 || d.Box[0] >= d.Box[2] || d.Box[1] >= d.Box[3] {
			t.Errorf("implausible detection %+v", d)
		}
	}
	if !found["person"] || !found["sports ball"] {
		t.Errorf("want person and sports ball, got:\n%s", out.String())
	}
	for _, key := range []string{`"class":"sports ball"`, `"class_id":32`, `"box":[`} {
		if !strings.Contains(out.String(), key) {
			t.Errorf("output lacks %s:\n%s", key, out.String())
		}
	}
}

func TestDetectVideoEvery(t *testing.T) {
	path := testenv.SharedFile(t, "vtest.avi")
	var out bytes.Buffer
	if err := runDetect(context.Background(), testenv.Config(), []string{"--json", "--every", "200", path}, &out); err != nil {
		t.Fatal(err)
	}
	lines := parseLines(t, out.String())
	// 795 frames: 0, 200, 400, 600.
	var frames []int
	for _, l := range lines {
		frames = append(frames, l.Frame)
		persons := 0
		for _, d := range l.Detections {
			if d.Class == "person" {
				persons++
			}
		}
		if persons == 0 {
			t.Errorf("frame %d: no person", l.Frame)
		}
	}
	if want := []int{0, 200, 400, 600}; len(frames) != len(want) || frames[0] != 0 || frames[1] != 200 || frames[3] != 600 {
		t.Errorf("frames %v, want %v", frames, want)
	}
}

func TestDetectEmptyDetections(t *testing.T) {
	blank := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(114, 114, 114, 0), 120, 160, gocv.MatTypeCV8UC3)
	defer blank.Close()
	path := filepath.Join(t.TempDir(), "blank.png")
	if !gocv.IMWrite(path, blank) {
		t.Fatalf("write %s", path)
	}
	var out bytes.Buffer
	if err := runDetect(context.Background(), testenv.Config(), []string{"--json", path}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"detections":[]`) {
		t.Errorf("want an empty detections array, got %s", out.String())
	}
}

func TestDetectHumanReadable(t *testing.T) {
	path := testenv.SharedFile(t, "basketball1.png")
	var out bytes.Buffer
	if err := runDetect(context.Background(), testenv.Config(), []string{path}, &out); err != nil {
		t.Fatal(err)
	}
	if want := path + " frame 0: 2 person"; !strings.HasPrefix(out.String(), want) {
		t.Errorf("got %q, want prefix %q", out.String(), want)
	}
}

func TestDetectMissingFile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"missing.jpg", "missing.avi"} {
		path := filepath.Join(dir, name)
		var out bytes.Buffer
		err := runDetect(context.Background(), testenv.Config(), []string{"--json", path}, &out)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
	// A readable file that is not an image must fail with its name too.
	bad := filepath.Join(dir, "bad.jpg")
	if err := os.WriteFile(bad, []byte("not a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runDetect(context.Background(), testenv.Config(), []string{bad}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("undecodable image: error %v does not name the file", err)
	}
}

func TestDetectBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--every", "0", "x.jpg"},
		{"--score", "1.5", "x.jpg"},
		{"--model", filepath.Join(t.TempDir(), "nope.onnx"), "x.jpg"},
	} {
		if err := runDetect(context.Background(), testenv.Config(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("runDetect(%q): want an error", args)
		}
	}
}
