// Package chunk defines how a group of captured frames is stored as one
// object: a tar archive of JPEG files, one entry per frame, named by the
// frame's index in the source and carrying its presentation time. Tar keeps
// chunks inspectable with ordinary tools.
package chunk

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Frame is one encoded frame in a chunk.
type Frame struct {
	Index int    // frame index in the source (0-based)
	PTSms int64  // presentation time from the start of the capture, ms
	JPEG  []byte // encoded image
}

const ptsKey = "SIGHTLINE.pts_ms"

// Key is the deterministic object key of chunk seq of a capture, so that a
// retried capture overwrites the object instead of adding another.
func Key(streamID, captureID string, seq int) string {
	return fmt.Sprintf("streams/%s/captures/%s/chunks/%06d.tar", streamID, captureID, seq)
}

// Encode packs frames into a chunk. The archive is byte-for-byte
// deterministic for the same frames (fixed mod time, no owner names).
func Encode(frames []Frame) ([]byte, error) {
	// Sized up front: a chunk is megabytes, and growing it copies them.
	size := 1024 // the archive's end
	for _, f := range frames {
		size += 2048 + len(f.JPEG) // PAX and file headers, padding
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	tw := tar.NewWriter(buf)
	for _, f := range frames {
		if f.Index < 0 {
			return nil, fmt.Errorf("chunk: frame index %d is negative", f.Index)
		}
		hdr := &tar.Header{
			Name:       fmt.Sprintf("%08d.jpg", f.Index),
			Mode:       0o644,
			Size:       int64(len(f.JPEG)),
			ModTime:    time.Unix(0, 0),
			Format:     tar.FormatPAX,
			PAXRecords: map[string]string{ptsKey: strconv.FormatInt(f.PTSms, 10)},
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("chunk: write header of frame %d: %w", f.Index, err)
		}
		if _, err := tw.Write(f.JPEG); err != nil {
			return nil, fmt.Errorf("chunk: write frame %d: %w", f.Index, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("chunk: close archive: %w", err)
	}
	return buf.Bytes(), nil
}

// Decode unpacks a chunk written by Encode. A chunk cut exactly between two
// entries cannot be told from a shorter one: callers check the frame count.
//
// The frames' bytes must come from data: entries whose sizes add up to more
// (a sparse file claiming terabytes) are refused before anything is
// allocated for them.
func Decode(data []byte) ([]Frame, error) {
	tr := tar.NewReader(bytes.NewReader(data))
	var frames []Frame
	budget := int64(len(data))
	// The frames' bytes share one allocation, as large as the chunk at most.
	store := make([]byte, 0, len(data))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("chunk: read entry %d: %w", len(frames), err)
		}
		idx, ok := frameIndex(hdr.Name)
		if !ok || hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("chunk: unexpected entry %q (type %q)", hdr.Name, hdr.Typeflag)
		}
		pts, err := strconv.ParseInt(hdr.PAXRecords[ptsKey], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("chunk: entry %q has no valid %s: %w", hdr.Name, ptsKey, err)
		}
		if hdr.Size < 0 || hdr.Size > budget {
			return nil, fmt.Errorf("chunk: entry %q claims %d bytes, more than the %d-byte chunk holds", hdr.Name, hdr.Size, len(data))
		}
		budget -= hdr.Size
		img := store[len(store) : len(store)+int(hdr.Size) : len(store)+int(hdr.Size)]
		store = store[:len(store)+int(hdr.Size)]
		if _, err := io.ReadFull(tr, img); err != nil {
			return nil, fmt.Errorf("chunk: read entry %q: %w", hdr.Name, err)
		}
		frames = append(frames, Frame{Index: idx, PTSms: pts, JPEG: img})
	}
	if len(frames) == 0 {
		return nil, errors.New("chunk: no frames (empty or not a chunk)")
	}
	return frames, nil
}

// frameIndex reads the index from an entry name: decimal digits, no sign,
// then .jpg.
func frameIndex(name string) (int, bool) {
	digits, ok := strings.CutSuffix(name, ".jpg")
	if !ok || digits == "" || digits[0] < '0' || digits[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, strconv.IntSize)
	return int(n), err == nil
}
