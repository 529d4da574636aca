package video

import (
	"errors"
	"os"
	"testing"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/testenv"
)

func TestSamplerEveryFrameAndByTime(t *testing.T) {
	all := Sampler{}
	for pts := int64(0); pts < 500; pts += 100 {
		if !all.Keep(pts) {
			t.Fatalf("EveryMS=0 dropped frame at %d ms", pts)
		}
	}
	s := Sampler{EveryMS: 250}
	var kept []int64
	for pts := int64(0); pts <= 1000; pts += 100 {
		if s.Keep(pts) {
			kept = append(kept, pts)
		}
	}
	want := []int64{0, 300, 500, 800, 1000}
	if len(kept) != len(want) {
		t.Fatalf("kept %v, want %v", kept, want)
	}
	for i := range want {
		if kept[i] != want[i] {
			t.Fatalf("kept %v, want %v", kept, want)
		}
	}
}

func TestReaderReadsAndSkipsVtest(t *testing.T) {
	path := testenv.SharedFile(t, "vtest.avi")
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m := gocv.NewMat()
	defer m.Close()
	idx, pts, ok := r.Read(&m)
	if !ok || idx != 0 || pts != 0 || m.Cols() != 768 || m.Rows() != 576 {
		t.Fatalf("first frame: idx %d pts %d ok %v size %dx%d", idx, pts, ok, m.Cols(), m.Rows())
	}
	r.Skip(99)
	idx, pts, ok = r.Read(&m)
	if !ok || idx != 100 || pts != 10000 {
		t.Fatalf("after skip: idx %d pts %d ok %v, want 100 10000 true", idx, pts, ok)
	}
	// The skipped-to frame is the same picture a straight read gives.
	r2, _ := Open(path)
	defer r2.Close()
	m2 := gocv.NewMat()
	defer m2.Close()
	for i := 0; i <= 100; i++ {
		r2.Read(&m2)
	}
	diff := gocv.NewMat()
	defer diff.Close()
	gocv.AbsDiff(m, m2, &diff)
	if n := gocv.CountNonZero(diff.Reshape(1, 0)); n != 0 {
		t.Fatalf("frame 100 after Skip differs from frame 100 read in order (%d values)", n)
	}
	n := 101
	for {
		if _, _, ok := r.Read(&m); !ok {
			break
		}
		n++
	}
	if n != 795 {
		t.Fatalf("read %d frames, want 795", n)
	}
}

func TestOpenRejectsBadSources(t *testing.T) {
	for _, src := range []string{"/nonexistent/video.mp4", t.TempDir(), "rtsp://example.invalid/stream"} {
		if _, err := Open(src); !errors.Is(err, ErrSource) {
			t.Errorf("Open(%q) = %v, want ErrSource", src, err)
		}
	}
	junk := t.TempDir() + "/junk.avi"
	if err := os.WriteFile(junk, []byte("this is not a video"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(junk); !errors.Is(err, ErrSource) {
		t.Errorf("Open(junk) = %v, want ErrSource", err)
	}
}
