package main

import (
	"errors"
	"flag"
	"io"
	"reflect"
	"testing"

	"github.com/sightline-video/sightline/internal/contract"
)

// TestSettingsFlagsCoverEverySetting: `sightline capture` and `sightline
// schedule create` can set every field of contract.Settings.
func TestSettingsFlagsCoverEverySetting(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	build := settingsFlags(fs)
	err := fs.Parse([]string{"--every-ms", "500", "--chunk-frames", "20", "--max-frames", "100", "--duration", "30s",
		"--detect-concurrency", "3", "--gpu", "--detect-queue", "q", "--skip-rollup", "--model", "m",
		"--classes", "person, car", "--min-score", "0.4", "--line", "door=0,300,640,300", "--zone", "desk=10,10,100,10,100,90",
		"--debounce-frames", "3", "--tracker", `{"max_lost": 60}`, "--mode", "realtime", "--max-lag", "4"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := build()
	if err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(s)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("no flag sets Settings.%s", v.Type().Field(i).Name)
		}
	}
	if s.DurationSeconds != 30 || s.Detect.Model != "m" || len(s.Detect.Filter.Classes) != 2 || s.Detect.Filter.MinScore != float32(0.4) {
		t.Errorf("settings %+v, detect %+v", s, s.Detect.Filter)
	}
	if tr := s.Tracking; len(tr.Lines) != 1 || tr.Lines[0].Name != "door" || len(tr.Zones) != 1 || len(tr.Zones[0].Points) != 3 ||
		tr.Debounce != 3 || tr.Tracker.MaxLost != 60 {
		t.Errorf("tracking %+v", tr)
	}

	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	build = settingsFlags(fs)
	if err := fs.Parse([]string{"--min-score", "1.5"}); err != nil {
		t.Fatal(err)
	}
	var fe *contract.FieldError
	if _, err := build(); err == nil || !errors.As(err, &fe) || fe.Field != "detect.filter.min_score" {
		t.Errorf("bad --min-score: %v", err)
	}
	for _, bad := range [][]string{{"--line", "door=0,0,1"}, {"--zone", "z=0,0,1,1"}, {"--tracker", `{"max_lots": 1}`}, {"--debounce-frames", "x"}} {
		fs = flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		settingsFlags(fs)
		if err := fs.Parse(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	build = settingsFlags(fs)
	if err := fs.Parse([]string{"--line", "a=0,0,10,10", "--line", "a=0,5,10,5"}); err != nil {
		t.Fatal(err)
	}
	if _, err := build(); err == nil || !errors.As(err, &fe) || fe.Field != "tracking" {
		t.Errorf("two lines named a: %v", err)
	}
}
