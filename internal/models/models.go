// Package models embeds the object-detection models shipped with Sightline
// (YOLOX-Nano, the default, and PP-PicoDet-S) so that the binary works
// without any external files.
package models

import (
	_ "embed"
	"strings"
)

// DefaultName identifies the embedded default model.
const DefaultName = "yolox_nano_416_coco"

// DefaultONNX is the YOLOX-Nano 416x416 COCO model (Megvii, Apache-2.0),
// byte-for-byte the upstream export; see README.md and NOTICE.
//
//go:embed yolox_nano_416_coco.onnx
var DefaultONNX []byte

// PicoDetName identifies the embedded PP-PicoDet-S model.
const PicoDetName = "picodet_s_416_coco"

// PicoDetONNX is PP-PicoDet-S 416x416 COCO (PaddleDetection, Apache-2.0),
// re-encoded to opset 10 for OpenCV 4.6 with the weights untouched; see NOTICE.
//
//go:embed picodet_s_416_coco_opset10.onnx
var PicoDetONNX []byte

//go:embed coco.names
var cocoNames string

// COCONames holds the 80 COCO class names; the index is the model's class id
// (0 = person ... 79 = toothbrush).
var COCONames = parseNames(cocoNames)

// parseNames splits a names file into one class per non-empty line,
// tolerating CRLF line endings and a trailing newline.
func parseNames(s string) []string {
	var names []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line != "" {
			names = append(names, line)
		}
	}
	return names
}
