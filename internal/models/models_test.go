package models

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// The embedded models must be the files recorded in NOTICE.
const (
	defaultSHA256 = "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14"
	picoDetSHA256 = "62690797c3a897516d37cc93781793cc3755106ed936daecf2cdd31ae60c0dae"
)

func TestDefaultONNXChecksum(t *testing.T) {
	sum := sha256.Sum256(DefaultONNX)
	if got := hex.EncodeToString(sum[:]); got != defaultSHA256 {
		t.Fatalf("embedded %s.onnx sha256 = %s, want %s", DefaultName, got, defaultSHA256)
	}
}

func TestPicoDetONNXChecksum(t *testing.T) {
	sum := sha256.Sum256(PicoDetONNX)
	if got := hex.EncodeToString(sum[:]); got != picoDetSHA256 {
		t.Fatalf("embedded %s sha256 = %s, want %s", PicoDetName, got, picoDetSHA256)
	}
}

func TestCOCONames(t *testing.T) {
	if len(COCONames) != 80 {
		t.Fatalf("len(COCONames) = %d, want 80", len(COCONames))
	}
	for id, want := range map[int]string{0: "person", 2: "car", 7: "truck", 32: "sports ball", 79: "toothbrush"} {
		if COCONames[id] != want {
			t.Errorf("COCONames[%d] = %q, want %q", id, COCONames[id], want)
		}
	}
}

func TestParseNames(t *testing.T) {
	got := parseNames("a\r\nb c\n\n d \n")
	want := []string{"a", "b c", "d"}
	if len(got) != len(want) {
		t.Fatalf("parseNames = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("parseNames = %q, want %q", got, want)
		}
	}
}
