//go:build matprofile

package detector

import (
	"testing"

	"gocv.io/x/gocv"
)

// Run with -tags matprofile: Detect and Close must not leak Mats.
func TestNoMatLeak(t *testing.T) {
	img := readImage(t, "messi5.jpg")
	before := gocv.MatProfile.Count()
	d, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := d.Detect(img); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	if after := gocv.MatProfile.Count(); after != before {
		t.Fatalf("Mat count %d -> %d", before, after)
	}
}
