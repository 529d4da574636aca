package activities

import (
	"testing"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/chunk"
)

// blankChunk is a chunk of two black frames.
func blankChunk(t *testing.T) []byte {
	t.Helper()
	m := gocv.Zeros(240, 320, gocv.MatTypeCV8UC3)
	defer m.Close()
	buf, err := gocv.IMEncode(gocv.JPEGFileExt, m)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	img := append([]byte(nil), buf.GetBytes()...)
	data, err := chunk.Encode([]chunk.Frame{{Index: 100, PTSms: 10000, JPEG: img}, {Index: 101, PTSms: 10100, JPEG: img}})
	if err != nil {
		t.Fatal(err)
	}
	return data
}
