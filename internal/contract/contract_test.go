package contract

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sightline-video/sightline/internal/counting"
	"github.com/sightline-video/sightline/internal/detectconf"
	"github.com/sightline-video/sightline/internal/tracking"
)

// jsonFields lists the JSON names of a struct's fields, flattening embedded
// structs as encoding/json does.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "-" && f.IsExported() {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// full is a Settings with every field set.
func full() Settings {
	return Settings{EveryMS: 500, ChunkFrames: 20, MaxFrames: 100, DurationSeconds: 30,
		Detect:   &detectconf.Config{Model: "m", Filter: &detectconf.Filter{Classes: []string{"person"}, MinScore: 0.4}},
		Tracking: &tracking.Config{Config: counting.Config{Lines: []counting.Line{{Name: "door", To: counting.Point{X: 10, Y: 10}}}}},
		GPU:      true, DetectTaskQueue: "q", DetectConcurrency: 3, SkipRollup: true, Mode: ModeRealtime, MaxLagSeconds: 4}
}

func TestEveryWayOfStartingACaptureHasTheSameSettingsFields(t *testing.T) {
	settings := jsonFields(reflect.TypeFor[Settings]())
	want := []string{"chunk_frames", "detect", "detect_concurrency", "detect_task_queue", "duration_seconds",
		"every_ms", "gpu", "max_frames", "max_lag_seconds", "mode", "skip_rollup", "tracking"}
	if !slices.Equal(settings, want) {
		t.Fatalf("Settings fields %v, want %v", settings, want)
	}
	capture := jsonFields(reflect.TypeFor[CaptureInput]())
	if got := slices.Concat(settings, []string{"source", "stream_id", "known_live"}); !sameSet(capture, got) {
		t.Errorf("CaptureInput fields %v, want the settings plus stream_id, source and known_live", capture)
	}
	stream := jsonFields(reflect.TypeFor[StreamInput]())
	for _, f := range settings {
		if !slices.Contains(stream, f) {
			t.Errorf("StreamInput lacks the setting %q", f)
		}
	}
	// A settings object means the same at the top level of both inputs.
	raw, err := json.Marshal(full())
	if err != nil {
		t.Fatal(err)
	}
	var ci CaptureInput
	var si StreamInput
	if err := json.Unmarshal(raw, &ci); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &si); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ci.Settings, full()) || !reflect.DeepEqual(si.Settings, full()) {
		t.Fatalf("settings did not round-trip: %+v / %+v", ci.Settings, si.Settings)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

func TestSettingsValidateNamesTheField(t *testing.T) {
	if err := full().Validate(); err != nil {
		t.Fatalf("valid settings: %v", err)
	}
	for _, tc := range []struct {
		field string
		edit  func(*Settings)
	}{
		{"every_ms", func(s *Settings) { s.EveryMS = -1 }},
		{"every_ms", func(s *Settings) { s.EveryMS = MaxEveryMS + 1 }},
		{"chunk_frames", func(s *Settings) { s.ChunkFrames = MaxChunkFrames + 1 }},
		{"max_frames", func(s *Settings) { s.MaxFrames = -5 }},
		{"duration_seconds", func(s *Settings) { s.DurationSeconds = -0.5 }},
		{"detect_concurrency", func(s *Settings) { s.DetectConcurrency = -1 }},
		{"detect.filter.min_score", func(s *Settings) { s.Detect.Filter.MinScore = 1 }},
		{"detect.filter.class_min_score", func(s *Settings) { s.Detect.Filter.ClassMinScore = map[string]float32{"car": 0} }},
		{"detect.filter.classes", func(s *Settings) { s.Detect.Filter.Classes = []string{""} }},
		{"tracking", func(s *Settings) { s.Tracking.Lines[0].Name = "" }},
		{"tracking", func(s *Settings) { s.Tracking.Tracker.MaxLost = -1 }},
	} {
		s := full()
		tc.edit(&s)
		var fe *FieldError
		if err := s.Validate(); !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	got := Settings{}.WithDefaults()
	if got.ChunkFrames != DefaultChunkFrames || got.DetectConcurrency != DefaultDetectConcurrency ||
		got.DetectTaskQueue != DefaultDetectTaskQueue {
		t.Errorf("defaults: %+v", got)
	}
	if got := (Settings{GPU: true}).WithDefaults(); got.DetectTaskQueue != DefaultGPUDetectQueue {
		t.Errorf("gpu queue: %q", got.DetectTaskQueue)
	}
	if got := (Settings{GPU: true}).WithQueues("d", "g").WithDefaults(); got.DetectTaskQueue != "g" {
		t.Errorf("configured gpu queue: %q", got.DetectTaskQueue)
	}
	if got := (Settings{DetectTaskQueue: "mine", GPU: true}).WithQueues("d", "g"); got.DetectTaskQueue != "mine" {
		t.Errorf("an explicit queue wins: %q", got.DetectTaskQueue)
	}
	set := full()
	if got := set.WithDefaults(); !reflect.DeepEqual(got, set) {
		t.Errorf("WithDefaults changed set fields: %+v", got)
	}
}

func TestStreamWindowSettings(t *testing.T) {
	if d := (StreamInput{StreamID: "s"}).WindowSettings().DurationSeconds; d != DefaultWindowSeconds {
		t.Errorf("default window %v", d)
	}
	if d := (StreamInput{StreamID: "s", WindowSeconds: 60}).WindowSettings().DurationSeconds; d != 60 {
		t.Errorf("window_seconds %v", d)
	}
	in := StreamInput{StreamID: "s", WindowSeconds: 60, Settings: Settings{DurationSeconds: 30}}
	if d := in.WindowSettings().DurationSeconds; d != 30 {
		t.Errorf("duration_seconds wins: %v", d)
	}
	if err := (StreamInput{StreamID: "Bad ID"}).Validate(); err == nil {
		t.Error("bad stream id accepted")
	}
}

func TestSettingsRefuseNaNScores(t *testing.T) {
	nan := float32(math.NaN())
	s := full()
	s.Detect.Filter.MinScore = nan
	if err := s.Validate(); err == nil {
		t.Error("NaN min_score accepted")
	}
	s = full()
	s.Detect.Filter.ClassMinScore = map[string]float32{"car": nan}
	if err := s.Validate(); err == nil {
		t.Error("NaN class_min_score accepted")
	}
}
