// Package annotate draws detections onto a frame: a box per detection in a
// colour that stays the same for its class, and a filled label reading
// "class 0.87", or "class #12 0.87" with its track id. Line width and text size follow the image size, so a label
// is legible on a 4K frame and does not swamp a thumbnail.
package annotate

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/detector"
)

// DefaultJPEGQuality matches the quality captures store frames at, so an
// annotated frame looks like the stored one.
const DefaultJPEGQuality = 90

const font = gocv.FontHersheySimplex

// style is the line width and text size for one image size.
type style struct {
	line      int     // box line width, px
	fontScale float64 // Hershey font scale
	textThick int     // text stroke width, px
	pad       int     // space between label text and its background's edge, px
}

// styleFor scales with the mean side: 2 px lines and a ~13 px text height at
// 640x480, twice that at 1280x960. Lines are 1 px only on thumbnails: JPEG's
// halved chroma resolution washes the colour out of a 1 px line.
func styleFor(width, height int) style {
	line := max(1, int(math.Round(float64(width+height)/2*0.0035)))
	return style{
		line:      line,
		fontScale: max(0.35, float64(line)/3),
		textThick: max(1, line-1),
		pad:       max(1, line),
	}
}

// ClassColor is the colour of a class's boxes: hues spread by the golden
// ratio, so neighbouring class ids get clearly different colours and a class
// keeps its colour across frames, captures and processes.
func ClassColor(classID int) color.RGBA {
	if classID < 0 {
		classID = -classID
	}
	h := math.Mod(float64(classID)*0.618033988749895+0.08, 1)
	return hsv(h, 0.85, 0.95)
}

// hsv converts h, s, v in [0, 1] to an opaque colour.
func hsv(h, s, v float64) color.RGBA {
	i := math.Floor(h * 6)
	f := h*6 - i
	p, q, t := v*(1-s), v*(1-f*s), v*(1-(1-f)*s)
	var r, g, b float64
	switch int(i) % 6 {
	case 0:
		r, g, b = v, t, p
	case 1:
		r, g, b = q, v, p
	case 2:
		r, g, b = p, v, t
	case 3:
		r, g, b = p, q, v
	case 4:
		r, g, b = t, p, v
	default:
		r, g, b = v, p, q
	}
	return color.RGBA{R: uint8(math.Round(r * 255)), G: uint8(math.Round(g * 255)), B: uint8(math.Round(b * 255)), A: 255}
}

// textColor is black on light label backgrounds and white on dark ones.
func textColor(bg color.RGBA) color.RGBA {
	if 0.299*float64(bg.R)+0.587*float64(bg.G)+0.114*float64(bg.B) > 150 {
		return color.RGBA{A: 255}
	}
	return color.RGBA{R: 255, G: 255, B: 255, A: 255}
}

// Label is the text drawn for a detection.
func Label(d detector.Detection) string {
	name := d.Class
	if name == "" {
		name = fmt.Sprintf("class %d", d.ClassID)
	}
	if d.TrackID != 0 {
		return fmt.Sprintf("%s #%d %.2f", name, d.TrackID, d.Score)
	}
	return fmt.Sprintf("%s %.2f", name, d.Score)
}

// placed is where one detection's box and label go, in pixels.
type placed struct {
	box     image.Rectangle // Min and Max-(1,1) are the corner pixels
	label   image.Rectangle // filled background, same convention
	textOrg image.Point     // bottom-left of the text
	text    string
	color   color.RGBA
	score   float32
}

// place clips a detection's box to a width x height image and puts its label
// above the box, or inside it when there is no room above (a box touching the
// top edge), always within the image. ok is false for a box that lies
// outside the image or has non-finite coordinates.
func place(width, height int, st style, d detector.Detection) (p placed, ok bool) {
	for _, v := range d.Box {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return placed{}, false
		}
	}
	x1 := clamp(int(math.Floor(float64(d.Box[0]))), 0, width-1)
	y1 := clamp(int(math.Floor(float64(d.Box[1]))), 0, height-1)
	x2 := clamp(int(math.Ceil(float64(d.Box[2]))), 0, width-1)
	y2 := clamp(int(math.Ceil(float64(d.Box[3]))), 0, height-1)
	if x2 < x1 || y2 < y1 || d.Box[2] < 0 || d.Box[3] < 0 || int(d.Box[0]) >= width || int(d.Box[1]) >= height {
		return placed{}, false
	}
	p.box = image.Rect(x1, y1, x2+1, y2+1)
	p.text = Label(d)
	p.score = d.Score
	p.color = ClassColor(d.ClassID)

	size, baseline := gocv.GetTextSizeWithBaseline(p.text, font, st.fontScale, st.textThick)
	lw, lh := size.X+2*st.pad, size.Y+baseline+2*st.pad
	top := y1 - lh
	if top < 0 {
		top = min(y1, max(0, height-lh))
	}
	left := min(x1, max(0, width-lw))
	p.label = image.Rect(left, top, left+lw, top+lh).Intersect(image.Rect(0, 0, width, height))
	p.textOrg = image.Pt(left+st.pad, top+st.pad+size.Y)
	return p, true
}

// lastPixel turns a half-open rectangle into the one whose Max is its last
// pixel, which is what gocv's rectangle drawing expects.
func lastPixel(r image.Rectangle) image.Rectangle {
	return image.Rectangle{Min: r.Min, Max: r.Max.Sub(image.Pt(1, 1))}
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// Draw draws dets onto img, a BGR image (as decoded from a JPEG), in place.
// Boxes are clipped to the image; boxes wholly outside it are skipped. All
// boxes are drawn before any label so no box line crosses a label, and labels
// go from the least to the most confident, so where labels overlap the most
// confident one is on top.
func Draw(img *gocv.Mat, dets []detector.Detection) error {
	if img == nil || img.Empty() {
		return errors.New("annotate: empty image")
	}
	if img.Type() != gocv.MatTypeCV8UC3 {
		return fmt.Errorf("annotate: image type %v, want 8-bit BGR (CV_8UC3)", img.Type())
	}
	width, height := img.Cols(), img.Rows()
	st := styleFor(width, height)
	ps := make([]placed, 0, len(dets))
	for _, d := range dets {
		if p, ok := place(width, height, st, d); ok {
			ps = append(ps, p)
		}
	}
	// gocv.Rectangle draws Max itself as the far corner and antialiases;
	// solid 8-connected lines keep box and label colours exact.
	for _, p := range ps {
		gocv.RectangleWithParams(img, lastPixel(p.box), p.color, st.line, gocv.Line8, 0)
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].score < ps[j].score })
	for _, p := range ps {
		gocv.RectangleWithParams(img, lastPixel(p.label), p.color, -1, gocv.Line8, 0) // negative thickness fills
		gocv.PutTextWithParams(img, p.text, p.textOrg, font, st.fontScale, textColor(p.color), st.textThick, gocv.LineAA, false)
	}
	return nil
}

// EncodeJPEG encodes img as a JPEG of quality 1..100 (0: DefaultJPEGQuality).
func EncodeJPEG(img gocv.Mat, quality int) ([]byte, error) {
	if quality == 0 {
		quality = DefaultJPEGQuality
	}
	if quality < 1 || quality > 100 {
		return nil, fmt.Errorf("annotate: JPEG quality %d: must be 1 to 100", quality)
	}
	if img.Empty() {
		return nil, errors.New("annotate: encode JPEG: empty image")
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, []int{gocv.IMWriteJpegQuality, quality})
	if err != nil {
		return nil, fmt.Errorf("annotate: encode %dx%d JPEG: %w", img.Cols(), img.Rows(), err)
	}
	defer buf.Close()
	if buf.Len() == 0 {
		return nil, fmt.Errorf("annotate: encode %dx%d JPEG: OpenCV produced no data", img.Cols(), img.Rows())
	}
	// The bytes live in C memory freed by Close: copy them out first.
	return append([]byte(nil), buf.GetBytes()...), nil
}

// JPEG decodes a JPEG (or any format OpenCV reads), draws counts (when it
// has lines or zones) and dets on it and encodes the result as a JPEG of the
// given quality (0: DefaultJPEGQuality).
func JPEG(src []byte, counts Counts, dets []detector.Detection, quality int) ([]byte, error) {
	img, err := gocv.IMDecode(src, gocv.IMReadColor)
	if err != nil || img.Empty() {
		img.Close()
		return nil, fmt.Errorf("annotate: decode %d-byte image: not a decodable image (%v)", len(src), err) //nolint:errorlint // err is nil for an empty image
	}
	defer img.Close()
	if len(counts.Lines)+len(counts.Zones) > 0 {
		if err := DrawCounts(&img, counts); err != nil {
			return nil, err
		}
	}
	if err := Draw(&img, dets); err != nil {
		return nil, err
	}
	return EncodeJPEG(img, quality)
}
