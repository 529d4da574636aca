package detector

import (
	"errors"
	"fmt"
)

// ONNX ModelProto / GraphProto field numbers that ValidateONNX relies on.
const (
	modelFieldGraph = 7 // ModelProto.graph
	modelFieldOpset = 8 // ModelProto.opset_import
	graphFieldNode  = 1 // GraphProto.node
)

// Protobuf wire types. Groups (3, 4) are deprecated and never used by ONNX,
// so they are treated as invalid together with 6 and 7.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// ValidateONNX performs a cheap structural check of an ONNX ModelProto.
//
// OpenCV's ONNX importer throws a C++ exception on malformed input, which gocv
// does not catch, so the whole process dies with SIGABRT. This walks the
// top-level protobuf fields (and the fields of the graph message one level
// down) so that empty, truncated, random and text files are rejected with an
// error first. A graph (field 7) with at least one node and an opset_import
// (field 8) are required: a model cut right after its graph is well-formed
// protobuf, yet OpenCV 4.6 aborts on it. A well-formed model can still use
// operators OpenCV cannot run; New catches those with a trial load in C++
// (probeONNX) after this check.
func ValidateONNX(data []byte) error {
	if len(data) == 0 {
		return errors.New("empty file, not an ONNX model")
	}
	var graph []byte
	haveGraph, opsets := false, 0
	err := walkMessage(data, func(field uint64, wire int, payload []byte) error {
		switch field {
		case modelFieldGraph:
			if wire != wireBytes {
				return fmt.Errorf("graph field (7) has wire type %d, want 2 (length-delimited)", wire)
			}
			graph, haveGraph = payload, true
		case modelFieldOpset:
			if wire != wireBytes {
				return fmt.Errorf("opset_import field (8) has wire type %d, want 2 (length-delimited)", wire)
			}
			if err := walkMessage(payload, func(uint64, int, []byte) error { return nil }); err != nil {
				return fmt.Errorf("opset_import: %w", err)
			}
			opsets++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("not a valid ONNX model: %w", err)
	}
	if !haveGraph {
		return errors.New("not a valid ONNX model: no graph (field 7)")
	}
	if opsets == 0 {
		return errors.New("not a valid ONNX model: no opset_import (field 8); truncated?")
	}
	nodes := 0
	err = walkMessage(graph, func(field uint64, wire int, _ []byte) error {
		if field == graphFieldNode && wire == wireBytes {
			nodes++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("not a valid ONNX model: graph: %w", err)
	}
	if nodes == 0 {
		return errors.New("not a valid ONNX model: graph has no nodes")
	}
	return nil
}

// walkMessage calls fn for every field of one protobuf message encoded in
// buf. payload is the field's bytes for length-delimited fields and nil
// otherwise. Any field that runs past the end of buf is an error.
func walkMessage(buf []byte, fn func(field uint64, wire int, payload []byte) error) error {
	for off := 0; off < len(buf); {
		start := off
		tag, n, err := readVarint(buf[off:])
		if err != nil {
			return fmt.Errorf("field tag at offset %d: %w", start, err)
		}
		off += n
		field, wire := tag>>3, int(tag&7)
		if field == 0 {
			return fmt.Errorf("field number 0 at offset %d", start)
		}
		var payload []byte
		switch wire {
		case wireVarint:
			_, n, err := readVarint(buf[off:])
			if err != nil {
				return fmt.Errorf("field %d at offset %d: %w", field, start, err)
			}
			off += n
		case wireFixed64:
			if len(buf)-off < 8 {
				return fmt.Errorf("field %d at offset %d: fixed64 runs past the end", field, start)
			}
			off += 8
		case wireFixed32:
			if len(buf)-off < 4 {
				return fmt.Errorf("field %d at offset %d: fixed32 runs past the end", field, start)
			}
			off += 4
		case wireBytes:
			l, n, err := readVarint(buf[off:])
			if err != nil {
				return fmt.Errorf("field %d at offset %d: length: %w", field, start, err)
			}
			off += n
			if l > uint64(len(buf)-off) {
				return fmt.Errorf("field %d at offset %d: length %d runs past the end (%d bytes left)", field, start, l, len(buf)-off)
			}
			payload = buf[off : off+int(l)]
			off += int(l)
		default:
			return fmt.Errorf("field %d at offset %d: invalid wire type %d", field, start, wire)
		}
		if err := fn(field, wire, payload); err != nil {
			return err
		}
	}
	return nil
}

// readVarint decodes a base-128 varint of at most 10 bytes.
func readVarint(buf []byte) (v uint64, n int, err error) {
	for i := 0; i < len(buf) && i < 10; i++ {
		b := buf[i]
		if i == 9 && b > 1 {
			return 0, 0, errors.New("varint overflows 64 bits")
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return v, i + 1, nil
		}
	}
	if len(buf) < 10 {
		return 0, 0, errors.New("varint runs past the end")
	}
	return 0, 0, errors.New("varint longer than 10 bytes")
}
