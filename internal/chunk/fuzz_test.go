package chunk

import (
	"archive/tar"
	"bytes"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// sparseChunk is a PAX (format 1.0) sparse entry claiming realSize bytes of
// which none are stored: tar.Reader serves the holes as zeros, so a decoder
// that trusts the size reads terabytes out of a few blocks. tar.Writer drops
// GNU.sparse records, so they are written under another name and renamed.
func sparseChunk(realSize int64) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	sparseMap := make([]byte, 512)
	copy(sparseMap, "1\n0\n0\n") // one data region of length 0 at offset 0
	_ = tw.WriteHeader(&tar.Header{
		Name: "00000001.jpg", Mode: 0o644, Size: int64(len(sparseMap)), Format: tar.FormatPAX,
		PAXRecords: map[string]string{
			ptsKey:                  "40",
			"XNU.sparse.major":      "1",
			"XNU.sparse.minor":      "0",
			"XNU.sparse.name":       "00000001.jpg",
			"XNU.sparse.realsize":   strconv.FormatInt(realSize, 10),
			"XNU.sparse.zzpadding1": "x",
		},
	})
	_, _ = tw.Write(sparseMap)
	_ = tw.Close()
	return bytes.ReplaceAll(buf.Bytes(), []byte("XNU.sparse."), []byte("GNU.sparse."))
}

func mustEncode(f *testing.F, frames []Frame) []byte {
	data, err := Encode(frames)
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzDecode feeds Decode arbitrary bytes: it must not panic, must not hand
// out more frame bytes than the chunk holds, and what it accepts must
// survive Encode and Decode again unchanged.
func FuzzDecode(f *testing.F) {
	one := mustEncode(f, []Frame{{Index: 3, PTSms: 120, JPEG: []byte{0xff, 0xd8, 0xff, 0xd9}}})
	f.Add(one)
	f.Add(mustEncode(f, []Frame{{Index: 0, PTSms: 0, JPEG: []byte{}}, {Index: 9, PTSms: -5, JPEG: bytes.Repeat([]byte{7}, 700)}}))
	f.Add(one[:len(one)-1024]) // cut inside the end-of-archive blocks
	f.Add(one[:700])           // cut inside the data
	f.Add(sparseChunk(1 << 40))
	f.Add([]byte{})
	f.Add([]byte("not a tar archive"))
	f.Fuzz(func(t *testing.T, data []byte) {
		frames, err := Decode(data)
		if err != nil {
			if frames != nil {
				t.Fatalf("Decode failed (%v) but returned %d frames", err, len(frames))
			}
			return
		}
		if len(frames) == 0 {
			t.Fatal("Decode succeeded with no frames")
		}
		total := 0
		for _, fr := range frames {
			if fr.Index < 0 || fr.JPEG == nil {
				t.Fatalf("Decode gave frame %+v: negative index or nil image", fr)
			}
			total += len(fr.JPEG)
		}
		if total > len(data) {
			t.Fatalf("Decode gave %d bytes of frames from a %d-byte chunk", total, len(data))
		}
		// Every entry it accepted is a regular file named as Encode names
		// frames, give or take leading zeros.
		tr := tar.NewReader(bytes.NewReader(data))
		for i := range frames {
			hdr, err := tr.Next()
			if err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
			digits := strings.TrimSuffix(hdr.Name, ".jpg")
			if hdr.Typeflag != tar.TypeReg || strings.Trim(digits, "0123456789") != "" || digits == "" {
				t.Fatalf("Decode took entry %q of type %q as frame %d", hdr.Name, hdr.Typeflag, frames[i].Index)
			}
		}
		again, err := Encode(frames)
		if err != nil {
			t.Fatalf("Encode of decoded frames: %v", err)
		}
		back, err := Decode(again)
		if err != nil || !reflect.DeepEqual(back, frames) {
			t.Fatalf("re-encoded chunk decodes to %+v, %v; want %+v", back, err, frames)
		}
	})
}

// FuzzRoundTrip builds frames from fuzzed fields and checks that Encode is
// deterministic and Decode gives them back, or that Encode refuses them.
func FuzzRoundTrip(f *testing.F) {
	f.Add(0, int64(0), []byte{0xff, 0xd8}, uint8(1))
	f.Add(7, int64(-1), []byte{}, uint8(3))
	f.Add(99999999, int64(1)<<62, bytes.Repeat([]byte{0}, 1025), uint8(2))
	f.Add(-1, int64(5), []byte{1}, uint8(1))
	f.Fuzz(func(t *testing.T, index int, pts int64, jpeg []byte, n uint8) {
		var frames []Frame
		for i := range int(n % 8) {
			// Frames after the first share its bytes, shortened.
			frames = append(frames, Frame{Index: index + i, PTSms: pts + int64(i)*40, JPEG: jpeg[:len(jpeg)*(8-i)/8]})
		}
		data, err := Encode(frames)
		if index < 0 && len(frames) > 0 {
			if err == nil {
				t.Fatalf("Encode accepted negative index %d", index)
			}
			return
		}
		if index > 0 && index+len(frames) < index {
			return // the indices overflowed int; no capture gets there
		}
		if err != nil {
			t.Fatalf("Encode(%d frames from index %d): %v", len(frames), index, err)
		}
		if again, _ := Encode(frames); !bytes.Equal(again, data) {
			t.Fatal("Encode is not deterministic")
		}
		got, err := Decode(data)
		if len(frames) == 0 {
			if err == nil {
				t.Fatalf("Decode of an empty chunk gave %+v", got)
			}
			return
		}
		if err != nil {
			t.Fatalf("Decode(Encode(%d frames)): %v", len(frames), err)
		}
		if !reflect.DeepEqual(got, frames) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, frames)
		}
	})
}
