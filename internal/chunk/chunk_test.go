package chunk

import (
	"bytes"
	"reflect"
	"testing"
)

func TestEncodeDecodeRoundTripIsDeterministic(t *testing.T) {
	frames := []Frame{
		{Index: 0, PTSms: 0, JPEG: []byte{0xff, 0xd8, 1, 2, 3}},
		{Index: 7, PTSms: 700, JPEG: []byte{0xff, 0xd8, 4}},
		{Index: 12345, PTSms: 1234500, JPEG: []byte{}},
	}
	a, err := Encode(frames)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode(frames)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("encoding the same frames twice gave different bytes")
	}
	got, err := Decode(a)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, frames) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, frames)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	data, _ := Encode([]Frame{{Index: 1, PTSms: 1, JPEG: bytes.Repeat([]byte{1}, 2000)}})
	if _, err := Decode(data[:1500]); err == nil {
		t.Error("truncated chunk decoded without error")
	}
	if _, err := Decode([]byte("not a tar archive at all, but long enough to look like a header block")); err == nil {
		t.Error("garbage decoded without error")
	}
	if _, err := Decode(nil); err == nil {
		t.Error("empty chunk decoded without error")
	}
}

func TestKeyIsStable(t *testing.T) {
	if got, want := Key("lobby", "capture-1", 42), "streams/lobby/captures/capture-1/chunks/000042.tar"; got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
}
