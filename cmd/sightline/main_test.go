package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const badSetting = `SIGHTLINE_DETECT_WORKERS="abc": not an integer`

// TestBadSettingStopsCommands: a malformed setting is every command's
// error, returned before the command does anything (no output, no
// connection attempt).
func TestBadSettingStopsCommands(t *testing.T) {
	t.Setenv("SIGHTLINE_DETECT_WORKERS", "abc")
	for _, cmd := range []string{"dev", "worker", "api", "migrate", "rollup", "detect", "capture", "help"} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), cmd, []string{"--help"}, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), badSetting) {
			t.Errorf("%s: %v, want %s", cmd, err, badSetting)
		}
		if stdout.Len() > 0 || stderr.Len() > 0 {
			t.Errorf("%s wrote before failing:\n%s%s", cmd, stdout.String(), stderr.String())
		}
	}
}

// TestBadSettingExits runs main in a child process: it exits 1 with
// "sightline <cmd>: <error>".
func TestBadSettingExits(t *testing.T) {
	if os.Getenv("SIGHTLINE_TEST_MAIN") == "1" {
		os.Args = []string{"sightline", "detect", "nothing.jpg"}
		main()
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBadSettingExits$")
	cmd.Env = append(os.Environ(), "SIGHTLINE_TEST_MAIN=1", "SIGHTLINE_DETECT_WORKERS=abc")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stderr:\n%s", err, stderr.String())
	}
	if want := "sightline detect: " + badSetting + "\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}
