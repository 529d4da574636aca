package tracking

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/sightline-video/sightline/internal/counting"
	"github.com/sightline-video/sightline/internal/detection"
	"github.com/sightline-video/sightline/internal/track"
)

func TestConfigJSONAndDefaults(t *testing.T) {
	var c Config
	err := json.Unmarshal([]byte(`{"tracker": {"max_lost": 60}, "lines": [{"name": "door", "from": [0, 100], "to": [200, 100]}],
		"debounce_frames": 3}`), &c)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := c.WithDefaults()
	want := track.DefaultConfig()
	want.MaxLost = 60
	if d.Tracker != want || d.Debounce != 3 || len(d.Lines) != 1 || d.Lines[0].To != (counting.Point{X: 200, Y: 100}) {
		t.Errorf("with defaults: %+v", d)
	}
	if b, _ := json.Marshal(Config{}); string(b) != "{}" {
		t.Errorf("empty settings marshal to %s, want {}", b)
	}
	for _, bad := range []struct{ json, want string }{
		{`{"tracker": {"low_score": 0.9}}`, "low_score"},
		{`{"tracker": {"match_iou": 2}}`, "match_iou"},
		{`{"lines": [{"name": "a", "from": [0, 0], "to": [0, 0]}]}`, "line"},
		{`{"zones": [{"name": "z", "points": [[0, 0], [1, 1]]}]}`, "zone"},
	} {
		var c Config
		if err := json.Unmarshal([]byte(bad.json), &c); err != nil {
			t.Fatalf("%s: %v", bad.json, err)
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: error %v, want one naming %s", bad.json, err, bad.want)
		}
	}
}

// walkers is a scene of people walking down across a horizontal line at
// y=200 and one walking back up, with a zone around the line's middle.
func walkers(frames int) []Frame {
	var out []Frame
	for i := range frames {
		var dets []detection.Detection
		for p := range 4 {
			x := float32(60 + 120*p)
			y := float32(20 + 4*i + 10*p)
			if p == 3 {
				y = float32(300 - 4*i)
			}
			dets = append(dets, detection.Detection{Class: "person", Score: 0.9, Box: [4]float32{x, y, x + 40, y + 100}})
		}
		out = append(out, Frame{Frame: counting.Frame{Index: i, PTSms: int64(i) * 100}, Detections: dets})
	}
	return out
}

func sceneConfig() Config {
	return Config{Config: counting.Config{
		Lines: []counting.Line{{Name: "line", From: counting.Point{X: 0, Y: 200}, To: counting.Point{X: 600, Y: 200}}},
		Zones: []counting.Zone{{Name: "middle", Points: []counting.Point{{X: 150, Y: 150}, {X: 450, Y: 150}, {X: 450, Y: 300}, {X: 150, Y: 300}}}},
	}}
}

// run follows the frames, saving and restoring the state (through JSON)
// before every frame in restoreAt.
func run(t *testing.T, frames []Frame, restoreAt map[int]bool) ([]Result, counting.Events) {
	t.Helper()
	f, err := New(sceneConfig())
	if err != nil {
		t.Fatal(err)
	}
	var out []Result
	for i, fr := range frames {
		if restoreAt[i] {
			s, err := f.State()
			if err != nil {
				t.Fatal(err)
			}
			if f, err = Restore(sceneConfig(), s); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, f.Next(fr))
	}
	return out, f.Finish()
}

func TestFollowerCountsAndResumes(t *testing.T) {
	frames := walkers(60)
	want, wantEnd := run(t, frames, nil)
	sum := counting.NewSummary(sceneConfig().WithDefaults().Config)
	for _, r := range want {
		sum.Add(r.Events)
	}
	sum.Add(wantEnd)
	b, _ := json.Marshal(sum)
	var got struct {
		Lines map[string]map[string]map[string]int `json:"lines"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if in, out := got.Lines["line"]["in"]["person"], got.Lines["line"]["out"]["person"]; in != 3 || out != 1 {
		t.Errorf("line counts in %d, out %d; want 3 and 1 (%s)", in, out, b)
	}
	ids := map[int64]bool{}
	for _, r := range want {
		for _, id := range r.IDs {
			ids[id] = true
		}
	}
	if len(ids) != 4 || ids[0] {
		t.Errorf("track ids %v, want four, every detection tracked", ids)
	}
	for _, at := range []map[int]bool{{1: true}, {17: true, 18: true}, {30: true, 45: true, 59: true}} {
		got, gotEnd := run(t, frames, at)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotEnd, wantEnd) {
			t.Errorf("restored before frames %v: results differ from an uninterrupted run", at)
		}
	}
	if _, err := Restore(sceneConfig(), []byte(`{"tracker": 1}`)); err == nil {
		t.Error("a malformed state was restored")
	}
	other := sceneConfig()
	other.Lines[0].To.Y = 250
	f, _ := New(sceneConfig())
	s, _ := f.State()
	if _, err := Restore(other, s); err == nil {
		t.Error("a state was restored under other lines")
	}
}
