// Package detection defines what a detector reports for one object in a
// frame. It is a leaf: the tracker and the contracts use it without linking
// the detector's vision code.
package detection

// Detection is one detected object.
type Detection struct {
	ClassID int     `json:"class_id"`
	Class   string  `json:"class"`
	Score   float32 `json:"score"`
	// Box is x1, y1, x2, y2 in original image pixels, clipped to the image.
	Box [4]float32 `json:"box"`
	// TrackID is the confirmed track it belongs to within its capture; 0
	// before tracking, or when no track took it.
	TrackID int64 `json:"track_id,omitempty"`
}
