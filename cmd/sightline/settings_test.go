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
		"--classes", "person, car", "--min-score", "0.4"})
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
}
