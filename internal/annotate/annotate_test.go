package annotate

import (
	"image"
	"image/color"
	"os"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/testenv"
)

var gray = color.RGBA{R: 128, G: 128, B: 128, A: 255}

// canvas is a uniform gray BGR image, closed when the test ends.
func canvas(t *testing.T, w, h int) gocv.Mat {
	t.Helper()
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), h, w, gocv.MatTypeCV8UC3)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func at(m gocv.Mat, x, y int) color.RGBA {
	v := m.GetVecbAt(y, x)
	return color.RGBA{B: v[0], G: v[1], R: v[2], A: 255}
}

func det(class int, name string, score float32, x1, y1, x2, y2 float32) detector.Detection {
	return detector.Detection{ClassID: class, Class: name, Score: score, Box: [4]float32{x1, y1, x2, y2}}
}

// countIn counts the pixels of r (clipped to m) for which keep is true.
func countIn(m gocv.Mat, r image.Rectangle, keep func(color.RGBA) bool) int {
	r = r.Intersect(image.Rect(0, 0, m.Cols(), m.Rows()))
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if keep(at(m, x, y)) {
				n++
			}
		}
	}
	return n
}

func is(c color.RGBA) func(color.RGBA) bool { return func(p color.RGBA) bool { return p == c } }

func TestDrawBoxEdgesAndLabel(t *testing.T) {
	img := canvas(t, 640, 480)
	d := det(0, "person", 0.87, 100, 150, 300, 400)
	if err := Draw(&img, []detector.Detection{d}); err != nil {
		t.Fatal(err)
	}
	want := ClassColor(0)
	for _, p := range []image.Point{{100, 275}, {300, 275}, {200, 150}, {200, 400}, {100, 400}} {
		if got := at(img, p.X, p.Y); got != want {
			t.Errorf("box edge pixel %v = %v, want class colour %v", p, got, want)
		}
	}
	for _, p := range []image.Point{{200, 275}, {500, 50}, {10, 470}, {320, 430}, {150, 200}} {
		if got := at(img, p.X, p.Y); got != gray {
			t.Errorf("pixel %v away from the box changed to %v", p, got)
		}
	}

	// The label sits above the box: its background in the class colour,
	// with text in a contrasting colour on it.
	st := styleFor(640, 480)
	p, ok := place(640, 480, st, d)
	if !ok {
		t.Fatal("box not placed")
	}
	if p.label.Max.Y != 150 || p.label.Min.X != 100 || p.label.Min.Y < 0 {
		t.Errorf("label at %v, want just above the box's top-left corner (100,150)", p.label)
	}
	if p.text != "person 0.87" {
		t.Errorf("label text %q, want %q", p.text, "person 0.87")
	}
	bg := countIn(img, p.label, is(want))
	text := countIn(img, p.label, func(c color.RGBA) bool { return c != want && c != gray })
	if area := p.label.Dx() * p.label.Dy(); bg < area/3 || text < 20 {
		t.Errorf("label %v: %d background and %d text pixels of %d", p.label, bg, text, area)
	}
}

func TestLabelInsideImageAtTopEdge(t *testing.T) {
	const w, h = 320, 240
	img := canvas(t, w, h)
	dets := []detector.Detection{
		det(2, "car", 0.5, 10, 0, 150, 100),          // touching the top edge
		det(16, "dog", 0.99, 250, -20, 330, 60),      // above and right of the image
		det(5, "bus", 0.31, -40, 200, 60, 300),       // below and left of the image
		det(7, "truck", 0.9, 400, 300, 500, 400),     // wholly outside: skipped
		det(9, "boat", 0.9, float32(nan()), 0, 5, 5), // not finite: skipped
	}
	if err := Draw(&img, dets); err != nil {
		t.Fatal(err)
	}
	st := styleFor(w, h)
	bounds := image.Rect(0, 0, w, h)
	for _, d := range dets[:3] {
		p, ok := place(w, h, st, d)
		if !ok {
			t.Fatalf("%s: not placed", p.text)
		}
		if !p.label.In(bounds) || p.label.Dy() < 8 {
			t.Errorf("%s: label %v not wholly inside %v", p.text, p.label, bounds)
		}
		size := gocv.GetTextSize(p.text, font, st.fontScale, st.textThick)
		if p.textOrg.Y-size.Y < 0 || p.textOrg.Y > h || p.textOrg.X < 0 || p.textOrg.X+size.X > w {
			t.Errorf("%s: text at %v size %v leaves the image", p.text, p.textOrg, size)
		}
		c := ClassColor(d.ClassID)
		bg := countIn(img, p.label, is(c))
		text := countIn(img, p.label, func(px color.RGBA) bool { return px != c && px != gray })
		if bg == 0 || text < 20 {
			t.Errorf("%s: label %v has %d background and %d text pixels", p.text, p.label, bg, text)
		}
	}
	// The car's label goes inside its box, below the top edge.
	car, _ := place(w, h, st, dets[0])
	if car.label.Min.Y != 0 || car.label.Min.X != 10 {
		t.Errorf("car label at %v, want at the box's top-left corner (10,0)", car.label)
	}
	// The dog's box is clipped: its right edge is the image's last column.
	if got := at(img, w-1, 40); got != ClassColor(16) {
		t.Errorf("clipped right edge pixel = %v, want %v", got, ClassColor(16))
	}
	// The bus's clipped left edge is column 0.
	if got := at(img, 0, 230); got != ClassColor(5) {
		t.Errorf("clipped left edge pixel = %v, want %v", got, ClassColor(5))
	}
	for _, p := range []image.Point{{200, 180}, {100, 150}} {
		if got := at(img, p.X, p.Y); got != gray {
			t.Errorf("pixel %v away from every box changed to %v", p, got)
		}
	}
}

func nan() float64 { var z float64; return z / z }

func TestStyleFollowsImageSize(t *testing.T) {
	small, medium, large := styleFor(160, 120), styleFor(640, 480), styleFor(3840, 2160)
	if small.line != 1 || medium.line != 2 || large.line < 8 {
		t.Errorf("line widths %d, %d, %d for 160x120, 640x480, 4K", small.line, medium.line, large.line)
	}
	if small.fontScale >= medium.fontScale || medium.fontScale >= large.fontScale {
		t.Errorf("font scales %v, %v, %v do not grow with the image", small.fontScale, medium.fontScale, large.fontScale)
	}
	// The label's height stays a similar share of the image height.
	for _, c := range []struct {
		w, h int
		st   style
	}{{640, 480, medium}, {3840, 2160, large}} {
		size := gocv.GetTextSize("person 0.87", font, c.st.fontScale, c.st.textThick)
		if share := float64(size.Y) / float64(c.h); share < 0.015 || share > 0.06 {
			t.Errorf("%dx%d: text height %d px is %.3f of the image", c.w, c.h, size.Y, share)
		}
	}
}

func TestClassColorStable(t *testing.T) {
	first, again := ClassColor(0), ClassColor(0)
	if first != again || ClassColor(3) != ClassColor(-3) {
		t.Error("class colours are not stable")
	}
	for id := 0; id < 80; id++ {
		a, b := ClassColor(id), ClassColor(id+1)
		if d := absDiff(a.R, b.R) + absDiff(a.G, b.G) + absDiff(a.B, b.B); d < 60 {
			t.Errorf("classes %d and %d get similar colours %v and %v", id, id+1, a, b)
		}
	}
	if tc := textColor(color.RGBA{R: 250, G: 250, B: 100, A: 255}); tc != (color.RGBA{A: 255}) {
		t.Errorf("text on yellow = %v, want black", tc)
	}
	if tc := textColor(color.RGBA{R: 20, G: 20, B: 160, A: 255}); tc != (color.RGBA{R: 255, G: 255, B: 255, A: 255}) {
		t.Errorf("text on dark blue = %v, want white", tc)
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestLabelText(t *testing.T) {
	if got := Label(det(0, "person", 0.874, 0, 0, 1, 1)); got != "person 0.87" {
		t.Errorf("Label = %q", got)
	}
	if got := Label(det(81, "", 0.5, 0, 0, 1, 1)); got != "class 81 0.50" {
		t.Errorf("Label without a name = %q", got)
	}
}

func TestDrawRejectsBadImages(t *testing.T) {
	empty := gocv.NewMat()
	defer empty.Close()
	if err := Draw(&empty, nil); err == nil {
		t.Error("Draw on an empty Mat: want an error")
	}
	grayMat := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV8U)
	defer grayMat.Close()
	if err := Draw(&grayMat, nil); err == nil || !strings.Contains(err.Error(), "CV_8UC3") {
		t.Errorf("Draw on a 1-channel Mat: %v, want an error naming CV_8UC3", err)
	}
	if _, err := JPEG([]byte("not a jpeg"), Counts{}, nil, 0); err == nil || !strings.Contains(err.Error(), "10-byte") {
		t.Errorf("JPEG of garbage: %v, want an error naming the input", err)
	}
	img := canvas(t, 8, 8)
	if _, err := EncodeJPEG(img, 101); err == nil {
		t.Error("quality 101: want an error")
	}
}

// TestJPEGOnRealPhoto annotates a real photo end to end: decode, draw,
// encode, and decode again.
func TestJPEGOnRealPhoto(t *testing.T) {
	src, err := os.ReadFile(testenv.SharedFile(t, "messi5.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	orig, err := gocv.IMDecode(src, gocv.IMReadColor)
	if err != nil || orig.Empty() {
		t.Fatalf("decode messi5.jpg: %v", err)
	}
	defer orig.Close()
	d := det(0, "person", 0.91, 200, 60, 340, 330)
	out, err := JPEG(src, Counts{}, []detector.Detection{d}, 95)
	if err != nil {
		t.Fatal(err)
	}
	got, err := gocv.IMDecode(out, gocv.IMReadColor)
	if err != nil || got.Empty() {
		t.Fatalf("decode annotated JPEG: %v", err)
	}
	defer got.Close()
	if got.Cols() != orig.Cols() || got.Rows() != orig.Rows() {
		t.Fatalf("annotated is %dx%d, original %dx%d", got.Cols(), got.Rows(), orig.Cols(), orig.Rows())
	}
	// JPEG re-encoding moves pixels by a few levels and blurs the colour
	// of a thin line (chroma subsampling); the line still pulls the edge
	// pixels well towards the class colour.
	want := ClassColor(0)
	for _, p := range []image.Point{{200, 200}, {340, 150}, {270, 330}} {
		before, after := colorDist(at(orig, p.X, p.Y), want), colorDist(at(got, p.X, p.Y), want)
		if after > before/2 {
			t.Errorf("box edge pixel %v: %v, %d from the class colour %v (was %d)", p, at(got, p.X, p.Y), after, want, before)
		}
	}
	for _, p := range []image.Point{{100, 300}, {450, 100}, {270, 200}} {
		if dd := colorDist(at(got, p.X, p.Y), at(orig, p.X, p.Y)); dd > 30 {
			t.Errorf("pixel %v far from the box changed by %d", p, dd)
		}
	}
}

func colorDist(a, b color.RGBA) int { return absDiff(a.R, b.R) + absDiff(a.G, b.G) + absDiff(a.B, b.B) }

func TestMostConfidentLabelOnTop(t *testing.T) {
	img := canvas(t, 640, 480)
	person, car := det(0, "person", 0.4, 100, 100, 200, 200), det(2, "car", 0.9, 100, 100, 200, 200)
	// The confident car comes first, so drawing in input order would bury it.
	if err := Draw(&img, []detector.Detection{car, person}); err != nil {
		t.Fatal(err)
	}
	p, _ := place(640, 480, styleFor(640, 480), car)
	if got := at(img, p.label.Min.X, p.label.Min.Y); got != ClassColor(2) {
		t.Errorf("overlapping labels: corner pixel %v, want the car's colour %v on top", got, ClassColor(2))
	}
}
