package annotate

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/counting"
)

// Counts are the lines and zones drawn on a frame, with what they counted
// up to it.
type Counts struct {
	Lines []LineCount
	Zones []ZoneCount
}

// LineCount is a line and its crossings so far.
type LineCount struct {
	counting.Line
	In, Out int
}

// ZoneCount is a zone and how many objects are in it.
type ZoneCount struct {
	counting.Zone
	Inside int
}

var (
	lineColor = color.RGBA{R: 255, G: 255, A: 255} // yellow: not a class colour's saturation
	zoneColor = color.RGBA{R: 0, G: 200, B: 255, A: 255}
)

// DrawCounts draws the zones as outlines and the lines with an arrow
// from the line's middle towards its positive ("in") side, each labelled
// with its name and counts. It draws under the boxes: call it before Draw.
func DrawCounts(img *gocv.Mat, c Counts) error {
	if img == nil || img.Empty() {
		return errors.New("annotate: empty image")
	}
	st := styleFor(img.Cols(), img.Rows())
	pt := func(p counting.Point) image.Point { return image.Pt(int(math.Round(p.X)), int(math.Round(p.Y))) }
	for _, z := range c.Zones {
		pts := make([]image.Point, len(z.Points))
		for i, p := range z.Points {
			pts[i] = pt(p)
		}
		pv := gocv.NewPointsVectorFromPoints([][]image.Point{pts})
		gocv.Polylines(img, pv, true, zoneColor, st.line)
		pv.Close()
		label(img, st, pts[0], fmt.Sprintf("%s: %d", z.Name, z.Inside), zoneColor)
	}
	for _, l := range c.Lines {
		a, b := pt(l.From), pt(l.To)
		gocv.Line(img, a, b, lineColor, st.line+1)
		// The positive side of (B-A) x (P-A) with y down is (-dy, dx).
		dx, dy := l.To.X-l.From.X, l.To.Y-l.From.Y
		n := math.Hypot(dx, dy)
		size := float64(8 * st.line)
		mid := counting.Point{X: (l.From.X + l.To.X) / 2, Y: (l.From.Y + l.To.Y) / 2}
		tip := counting.Point{X: mid.X - dy/n*size, Y: mid.Y + dx/n*size}
		gocv.ArrowedLine(img, pt(mid), pt(tip), lineColor, st.line)
		label(img, st, a, fmt.Sprintf("%s in %d out %d", l.Name, l.In, l.Out), lineColor)
	}
	return nil
}

// label writes text on a filled background at p, kept inside the image.
func label(img *gocv.Mat, st style, p image.Point, text string, bg color.RGBA) {
	size := gocv.GetTextSize(text, font, st.fontScale, st.textThick)
	w, h := size.X+2*st.pad, size.Y+2*st.pad
	x := clamp(p.X, 0, max(0, img.Cols()-w))
	y := clamp(p.Y-h, 0, max(0, img.Rows()-h))
	gocv.RectangleWithParams(img, image.Rect(x, y, x+w-1, y+h-1), bg, -1, gocv.Line8, 0)
	gocv.PutTextWithParams(img, text, image.Pt(x+st.pad, y+st.pad+size.Y), font, st.fontScale, textColor(bg), st.textThick, gocv.LineAA, false)
}
