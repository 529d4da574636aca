package track

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sightline-video/sightline/internal/detection"
)

// roundTrip passes the tracker's state through JSON and restores it.
func roundTrip(t *testing.T, tr *Tracker) *Tracker {
	t.Helper()
	data, err := json.Marshal(tr.State())
	if err != nil {
		t.Fatalf("marshal state: %v", err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("unmarshal state: %v", err)
	}
	out, err := Restore(tr.Config(), s)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	again, err := json.Marshal(out.State())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Fatalf("state changed in a round trip:\n%s\n%s", data, again)
	}
	return out
}

func runAll(tr *Tracker, frames [][]detection.Detection) []Result {
	out := make([]Result, len(frames))
	for f, dets := range frames {
		out[f] = tr.Update(dets)
	}
	return out
}

func TestSceneSurvivesCheckpoints(t *testing.T) {
	frames, _ := scene(7, 300, 20)
	cfg := DefaultConfig()
	want := runAll(newTracker(t, cfg), frames)
	wantState := newTracker(t, cfg)
	runAll(wantState, frames)

	for _, k := range []int{1, 2, 17, 100, 150, 299} {
		tr := newTracker(t, cfg)
		got := runAll(tr, frames[:k])
		tr = roundTrip(t, tr)
		if tr.Frames() != k {
			t.Fatalf("split %d: restored tracker at frame %d", k, tr.Frames())
		}
		got = append(got, runAll(tr, frames[k:])...)
		for f := range want {
			if !reflect.DeepEqual(got[f], want[f]) {
				t.Fatalf("split %d, frame %d: got %+v, want %+v", k, f, got[f], want[f])
			}
		}
		if !reflect.DeepEqual(tr.State(), wantState.State()) {
			t.Fatalf("split %d: final state differs", k)
		}
	}

	// Restoring at every frame changes nothing either.
	tr := newTracker(t, cfg)
	for f, dets := range frames {
		tr = roundTrip(t, tr)
		if got := tr.Update(dets); !reflect.DeepEqual(got, want[f]) {
			t.Fatalf("restored every frame, frame %d: got %+v, want %+v", f, got, want[f])
		}
	}
}

// sampleState is a snapshot holding a tracked, a lost and a tentative track.
func sampleState(t *testing.T) State {
	t.Helper()
	tr := newTracker(t, DefaultConfig())
	tr.Update([]detection.Detection{det("person", 0.9, 100, 100, 40, 80), det("car", 0.9, 500, 500, 100, 50)})
	tr.Update([]detection.Detection{det("person", 0.9, 102, 100, 40, 80)})
	tr.Update([]detection.Detection{det("person", 0.9, 104, 100, 40, 80), det("dog", 0.9, 900, 500, 50, 50)})
	s := tr.State()
	if len(s.Tracks) != 3 || s.Tracks[0].ID != 1 || s.Tracks[1].ID != 2 || s.Tracks[2].ID != 0 {
		t.Fatalf("sample state tracks %+v", s.Tracks)
	}
	return s
}

func TestRestoreRejectsMalformedState(t *testing.T) {
	cfg := DefaultConfig()
	if _, err := Restore(cfg, sampleState(t)); err != nil {
		t.Fatalf("restoring a good state: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*State)
		want string
	}{
		{"version", func(s *State) { s.Version = 2 }, "version 2"},
		{"config", func(s *State) { s.Config.MaxLost = 31 }, "saved with config"},
		{"negative frames", func(s *State) { s.Frames = -1 }, "frames -1"},
		{"next id", func(s *State) { s.NextID = 0 }, "next_id 0"},
		{"tracks before any frame", func(s *State) { s.Frames = 0 }, "no frames"},
		{"NaN mean", func(s *State) { s.Tracks[0].Mean[3] = math.NaN() }, "mean[3] is NaN"},
		{"Inf cov", func(s *State) { s.Tracks[1].Cov[2][5] = math.Inf(1) }, "cov[2][5] is +Inf"},
		{"asymmetric cov", func(s *State) { s.Tracks[0].Cov[0][4] += 1e-9 }, "not symmetric"},
		{"zero variance", func(s *State) { s.Tracks[0].Cov[6][6] = 0 }, "positive variance"},
		{"duplicate id", func(s *State) { s.Tracks[1].ID = 1 }, "id 1 appears twice"},
		{"id from the future", func(s *State) { s.Tracks[1].ID = 3 }, "id outside 0..2"},
		{"negative id", func(s *State) { s.Tracks[1].ID = -1 }, "id outside"},
		{"stale tentative", func(s *State) { s.Tracks[2].LastFrame = 1; s.Tracks[2].FirstFrame = 1 }, "tentative track last matched"},
		{"tentative on frame 0", func(s *State) {
			s.Frames = 1
			s.Tracks = s.Tracks[2:]
			s.Tracks[0].FirstFrame, s.Tracks[0].LastFrame = 0, 0
			s.NextID = 1
		}, "should have been confirmed"},
		{"old tentative", func(s *State) { s.Tracks[2].FirstFrame = 0 }, "should have been confirmed"},
		{"lost too long", func(s *State) { s.Frames += 40; s.Tracks = s.Tracks[1:2] }, "more than max_lost"},
		{"frame after the end", func(s *State) { s.Tracks[0].LastFrame = 3 }, "outside 0..2"},
		{"first after last", func(s *State) { s.Tracks[1].FirstFrame = 1 }, "frames 1..0"},
		{"empty box", func(s *State) { s.Tracks[0].Box[2] = s.Tracks[0].Box[0] }, "positive size"},
		{"NaN box", func(s *State) { s.Tracks[0].Box[1] = float32(math.NaN()) }, "box"},
		{"NaN score", func(s *State) { s.Tracks[0].Score = float32(math.NaN()) }, "score NaN"},
		{"score below low_score", func(s *State) { s.Tracks[0].Score = 0.01 }, "score 0.01"},
	} {
		s := sampleState(t)
		s.Tracks = slices.Clone(s.Tracks)
		c.edit(&s)
		_, err := Restore(cfg, s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	bad := cfg
	bad.ConfirmHits = 0
	if _, err := Restore(bad, sampleState(t)); err == nil || !strings.Contains(err.Error(), "confirm_hits") {
		t.Errorf("bad config: got %v", err)
	}
}

func TestStateSharesNothing(t *testing.T) {
	tr := newTracker(t, DefaultConfig())
	tr.Update([]detection.Detection{det("person", 0.9, 100, 100, 40, 80)})
	s := tr.State()
	r, err := Restore(tr.Config(), s)
	if err != nil {
		t.Fatal(err)
	}
	s.Tracks[0].Mean[0] = 1e6
	if tr.State().Tracks[0].Mean[0] == 1e6 || r.State().Tracks[0].Mean[0] == 1e6 {
		t.Fatal("editing a snapshot changed a tracker")
	}
}
