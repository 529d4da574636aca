package video

import "testing"

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
