package detector

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sightline-video/sightline/internal/models"
)

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestValidateONNXAcceptsDefaultModel(t *testing.T) {
	if err := ValidateONNX(models.DefaultONNX); err != nil {
		t.Fatalf("embedded model rejected: %v", err)
	}
}

func TestValidateONNXTruncated(t *testing.T) {
	full := models.DefaultONNX
	for _, n := range []int{1, 2, 10, 100, 1000, 64 << 10, len(full) / 3, len(full) / 2, len(full) - 1000, len(full) - 10, len(full) - 1} {
		if err := ValidateONNX(full[:n]); err == nil {
			t.Errorf("model truncated to %d of %d bytes accepted", n, len(full))
		}
	}
}

// TestValidateONNXFieldBoundaries cuts the model after each complete top-level
// field: every such prefix is well-formed protobuf, and the one ending right
// after the graph made OpenCV abort before opset_import was required.
func TestValidateONNXFieldBoundaries(t *testing.T) {
	full := models.DefaultONNX
	var cuts []int
	off := 0
	err := walkMessage(full, func(_ uint64, wire int, payload []byte) error {
		// Recover the field's end from the payload slice's position.
		if wire == wireBytes {
			off = cap(full) - cap(payload) + len(payload)
		} else {
			off = -1
		}
		if off > 0 && off < len(full) {
			cuts = append(cuts, off)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cuts) < 3 {
		t.Fatalf("expected several top-level fields, got cut points %v", cuts)
	}
	for _, n := range cuts {
		if err := ValidateONNX(full[:n]); err == nil {
			t.Errorf("model cut after a field at %d of %d bytes accepted", n, len(full))
		}
	}
}

func TestValidateONNXRandom(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		n := 1 + int(seed*37)%8192
		if err := ValidateONNX(randomBytes(seed, n)); err == nil {
			t.Errorf("random bytes (seed %d, %d bytes) accepted", seed, n)
		}
	}
}

func TestValidateONNXText(t *testing.T) {
	for _, s := range []string{
		"",
		"hello world\n",
		"<html><body>404 Not Found</body></html>\n",
		`{"model": "yolox", "graph": {"node": []}}`,
		"version https://git-lfs.github.com/spec/v1\noid sha256:695e750a\nsize 3660092\n",
		strings.Repeat("person\n", 80),
	} {
		if err := ValidateONNX([]byte(s)); err == nil {
			t.Errorf("text %q accepted", s)
		}
	}
}

func TestValidateONNXStructure(t *testing.T) {
	cases := map[string][]byte{
		// ir_version = 7 only: well-formed but no graph.
		"no graph": {0x08, 0x07},
		// graph (field 7) with an empty body.
		"empty graph": {0x08, 0x07, 0x3a, 0x00},
		// graph encoded as a varint.
		"graph wrong wire type": {0x38, 0x01},
		// field 1 with wire type 3 (start group).
		"group wire type": {0x0b},
		// field 1 with wire type 7.
		"invalid wire type": {0x0f},
		// tag with field number 0.
		"field 0": {0x00, 0x01},
		// varint with 11 continuation bytes.
		"long varint": {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		// varint cut off.
		"cut varint": {0x08, 0xff},
		// fixed64 / fixed32 cut off.
		"cut fixed64": {0x09, 1, 2, 3},
		"cut fixed32": {0x0d, 1, 2},
		// length 5 with 2 bytes left.
		"long length": {0x3a, 0x05, 0x0a, 0x00},
		// graph whose node field runs past the graph's end.
		"bad graph body": {0x3a, 0x02, 0x0a, 0x05},
		// graph with a node but no opset_import.
		"no opset": {0x08, 0x07, 0x3a, 0x02, 0x0a, 0x00},
		// opset_import whose body is malformed.
		"bad opset": {0x3a, 0x02, 0x0a, 0x00, 0x42, 0x01, 0x10},
	}
	for name, data := range cases {
		if err := ValidateONNX(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Minimal well-formed model: ir_version, a fixed32 and fixed64 field
	// (unknown fields are skipped), a graph with one empty node and
	// opset_import {version: 11}.
	ok := []byte{0x08, 0x07, 0x7d, 1, 2, 3, 4, 0x79, 1, 2, 3, 4, 5, 6, 7, 8, 0x3a, 0x02, 0x0a, 0x00, 0x42, 0x02, 0x10, 0x0b}
	if err := ValidateONNX(ok); err != nil {
		t.Errorf("minimal model rejected: %v", err)
	}
}

func FuzzValidateONNX(f *testing.F) {
	f.Add(models.DefaultONNX[:4096])
	f.Add([]byte{0x3a, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = ValidateONNX(data) // must not panic
	})
}
