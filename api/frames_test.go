package api

import (
	"context"
	"image"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/sightline-video/sightline/internal/annotate"
	"github.com/sightline-video/sightline/internal/chunk"
	"github.com/sightline-video/sightline/internal/objstore"
	"github.com/sightline-video/sightline/internal/testenv"
)

// frameEnv is a server on a fresh database and bucket holding one capture
// of vtest.avi sampled every other frame: chunk 0 holds frames 0, 2, 4 and
// has been analysed; chunk 1 holds frames 6, 8 and has not.
type frameEnv struct {
	*env
	store  *objstore.Store
	frames map[int][]byte // stored JPEG by frame index
}

const frameCapture = "capture-plaza-1"

// Detections of frame 2: a person, a car, and a faint person below the
// default min_score.
var (
	personBox = [4]float32{100, 150, 260, 420}
	carBox    = [4]float32{500, 300, 700, 450}
	faintBox  = [4]float32{320, 60, 420, 200}
)

func newFrameEnv(t *testing.T) *frameEnv {
	t.Helper()
	pool, _ := testenv.DB(t)
	store := testenv.Store(t)
	s := New(Deps{DB: pool, Store: store, Log: testLogger(t)})
	e := &frameEnv{env: &env{t: t, s: s, db: pool}, store: store, frames: map[int][]byte{}}

	vc, err := gocv.VideoCaptureFile(testenv.SharedFile(t, "vtest.avi"))
	if err != nil {
		t.Fatalf("open vtest.avi: %v", err)
	}
	defer vc.Close()
	img := gocv.NewMat()
	defer img.Close()
	for i := 0; i <= 8; i++ {
		if !vc.Read(&img) || img.Empty() {
			t.Fatalf("vtest.avi: cannot read frame %d", i)
		}
		if i%2 == 0 {
			b, err := annotate.EncodeJPEG(img, 90)
			if err != nil {
				t.Fatal(err)
			}
			e.frames[i] = b
		}
	}

	e.exec(`INSERT INTO streams (id, name, source) VALUES ('plaza', 'Plaza', '/v.avi')`)
	e.addCapture(frameCapture, "plaza", "running", time.Now())
	e.putChunk(0, 0, 2, 4)
	e.putChunk(1, 6, 8)
	for _, f := range []int{0, 2, 4} {
		e.exec(`INSERT INTO frames (capture_id, frame_index, stream_id, chunk_seq, pts_ms, ts, width, height, detection_count, model)
			VALUES ($1, $2, 'plaza', 0, $2 * 40, now(), 768, 576, 0, 'yolox')`, frameCapture, f)
	}
	for i, d := range []struct {
		class int
		name  string
		score float32
		box   [4]float32
	}{{0, "person", 0.91, personBox}, {2, "car", 0.64, carBox}, {0, "person", 0.12, faintBox}} {
		e.exec(`INSERT INTO detections (capture_id, frame_index, det_index, stream_id, ts, class_id, class_name, score, x1, y1, x2, y2)
			VALUES ($1, 2, $2, 'plaza', now(), $3, $4, $5, $6, $7, $8, $9)`,
			frameCapture, i, d.class, d.name, d.score, d.box[0], d.box[1], d.box[2], d.box[3])
	}
	return e
}

// putChunk stores the given frames as chunk seq and records it.
func (e *frameEnv) putChunk(seq int, indexes ...int) {
	e.t.Helper()
	var frames []chunk.Frame
	for _, i := range indexes {
		frames = append(frames, chunk.Frame{Index: i, PTSms: int64(i) * 40, JPEG: e.frames[i]})
	}
	data, err := chunk.Encode(frames)
	if err != nil {
		e.t.Fatal(err)
	}
	key := chunk.Key("plaza", frameCapture, seq)
	if err := e.store.Put(context.Background(), key, data, "application/x-tar"); err != nil {
		e.t.Fatal(err)
	}
	e.exec(`INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
		VALUES ($1, $2, 'plaza', $3, $4, $5, 0, 0)`, frameCapture, seq, key, indexes[0], len(indexes))
}

// getImage requests path and expects a JPEG; it returns the bytes and the
// response headers.
func getImage(t *testing.T, h http.Handler, path string) ([]byte, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %s", path, rec.Code, rec.Body.Bytes())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "image/jpeg" {
		t.Fatalf("GET %s: Content-Type %q, want image/jpeg", path, ct)
	}
	return rec.Body.Bytes(), rec.Header()
}

func decode(t *testing.T, b []byte) gocv.Mat {
	t.Helper()
	m, err := gocv.IMDecode(b, gocv.IMReadColor)
	if err != nil || m.Empty() {
		t.Fatalf("decode %d-byte JPEG: %v", len(b), err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// changed lists the pixels where a and b differ by more than JPEG
// re-encoding noise (sum over channels).
func changed(a, b gocv.Mat) []image.Point {
	var out []image.Point
	for y := 0; y < a.Rows(); y++ {
		for x := 0; x < a.Cols(); x++ {
			p, q := a.GetVecbAt(y, x), b.GetVecbAt(y, x)
			d := 0
			for c := 0; c < 3; c++ {
				d += max(int(p[c])-int(q[c]), int(q[c])-int(p[c]))
			}
			if d > 90 {
				out = append(out, image.Pt(x, y))
			}
		}
	}
	return out
}

// nearBox is the band around a box's outline plus the room above (or just
// inside) its top-left corner that its label may take.
func nearBox(box [4]float32, p image.Point) bool {
	const m = 10 // line width and JPEG blocks bleeding
	x1, y1, x2, y2 := int(box[0]), int(box[1]), int(box[2]), int(box[3])
	outer := image.Rect(x1-m, y1-m, x2+m, y2+m)
	inner := image.Rect(x1+m, y1+m, x2-m, y2-m)
	label := image.Rect(x1-m, y1-40, x1+220, y1+40)
	return (p.In(outer) && !p.In(inner)) || p.In(label)
}

// onEdges counts the changed pixels on each edge of a box.
func onEdges(box [4]float32, pts []image.Point) (left, right, bottom int) {
	x1, y1, x2, y2 := int(box[0]), int(box[1]), int(box[2]), int(box[3])
	for _, p := range pts {
		switch {
		case abs(p.X-x1) <= 3 && p.Y > y1+40 && p.Y < y2:
			left++
		case abs(p.X-x2) <= 3 && p.Y > y1+40 && p.Y < y2:
			right++
		case abs(p.Y-y2) <= 3 && p.X > x1 && p.X < x2:
			bottom++
		}
	}
	return left, right, bottom
}

func abs(v int) int { return max(v, -v) }

func TestFramePlainIsTheStoredJPEG(t *testing.T) {
	t.Parallel()
	e := newFrameEnv(t)
	for _, i := range []int{0, 2, 4, 6, 8} {
		got, _ := getImage(t, e.s.Handler(), "/api/v1/captures/"+frameCapture+"/frames/"+itoa(i))
		if string(got) != string(e.frames[i]) {
			t.Errorf("frame %d: got %d bytes, not the %d stored", i, len(got), len(e.frames[i]))
		}
	}
	img := decode(t, e.frames[2])
	if img.Cols() != 768 || img.Rows() != 576 {
		t.Errorf("frame 2 is %dx%d, want 768x576", img.Cols(), img.Rows())
	}
	// annotated=false is the plain frame too.
	got, _ := getImage(t, e.s.Handler(), "/api/v1/captures/"+frameCapture+"/frames/2?annotated=false")
	if string(got) != string(e.frames[2]) {
		t.Error("annotated=false did not return the stored frame")
	}
}

func TestFrameAnnotated(t *testing.T) {
	t.Parallel()
	e := newFrameEnv(t)
	h := e.s.Handler()
	base := "/api/v1/captures/" + frameCapture + "/frames/2"
	plain := decode(t, e.frames[2])

	check := func(query string, wantDrawn int, drawn, notDrawn [][4]float32) {
		t.Helper()
		b, hdr := getImage(t, h, base+query)
		if hdr.Get("X-Sightline-Analysed") != "true" || hdr.Get("X-Sightline-Detections") != itoa(wantDrawn) {
			t.Errorf("%s: headers analysed=%q detections=%q, want true and %d", query,
				hdr.Get("X-Sightline-Analysed"), hdr.Get("X-Sightline-Detections"), wantDrawn)
		}
		ann := decode(t, b)
		if ann.Cols() != plain.Cols() || ann.Rows() != plain.Rows() {
			t.Fatalf("%s: annotated frame is %dx%d, plain %dx%d", query, ann.Cols(), ann.Rows(), plain.Cols(), plain.Rows())
		}
		diff := changed(plain, ann)
		// Every changed pixel is on or next to a drawn box or its label...
		stray := 0
		for _, p := range diff {
			near := false
			for _, box := range drawn {
				near = near || nearBox(box, p)
			}
			if !near {
				stray++
				if stray <= 5 {
					t.Errorf("%s: pixel %v changed, away from every drawn box", query, p)
				}
			}
		}
		// ...and every drawn box's edges changed along their length.
		for _, box := range drawn {
			l, r, bt := onEdges(box, diff)
			long := int(box[3]-box[1]) - 40
			if l < long/2 || r < long/2 || bt < int(box[2]-box[0])/2 {
				t.Errorf("%s: box %v: only %d left, %d right, %d bottom edge pixels changed", query, box, l, r, bt)
			}
		}
		for _, box := range notDrawn {
			if l, r, bt := onEdges(box, diff); l+r+bt > 0 {
				t.Errorf("%s: box %v should not be drawn, but %d of its edge pixels changed", query, box, l+r+bt)
			}
		}
	}
	check("?annotated=true", 2, [][4]float32{personBox, carBox}, [][4]float32{faintBox})
	check("?annotated=1&min_score=0.1", 3, [][4]float32{personBox, carBox, faintBox}, nil)
	check("?annotated=true&classes=car", 1, [][4]float32{carBox}, [][4]float32{personBox, faintBox})
	check("?annotated=true&classes=person,%20dog&min_score=0.9", 1, [][4]float32{personBox}, [][4]float32{carBox, faintBox})
	check("?annotated=true&min_score=0.95", 0, nil, [][4]float32{personBox, carBox, faintBox})
}

func TestFrameAnnotatedNotAnalysedYet(t *testing.T) {
	t.Parallel()
	e := newFrameEnv(t)
	b, hdr := getImage(t, e.s.Handler(), "/api/v1/captures/"+frameCapture+"/frames/6?annotated=true")
	if hdr.Get("X-Sightline-Analysed") != "false" || hdr.Get("X-Sightline-Detections") != "0" {
		t.Errorf("headers analysed=%q detections=%q, want false and 0", hdr.Get("X-Sightline-Analysed"), hdr.Get("X-Sightline-Detections"))
	}
	if n := len(changed(decode(t, e.frames[6]), decode(t, b))); n > 0 {
		t.Errorf("%d pixels changed on a frame with nothing to draw", n)
	}
}

func TestFrameErrors(t *testing.T) {
	t.Parallel()
	e := newFrameEnv(t)
	base := "/api/v1/captures/" + frameCapture + "/frames/"
	for _, c := range []struct {
		path   string
		status int
		substr string
	}{
		{base + "abc", 400, `invalid frame index "abc"`},
		{base + "-1", 400, "invalid frame index"},
		{base + "1.5", 400, "invalid frame index"},
		{base + "99999999999999999999", 400, "invalid frame index"},
		{base + "2147483648", 400, "invalid frame index"}, // beyond PostgreSQL's integer
		{base + "2?annotated=maybe", 400, `invalid annotated "maybe"`},
		{base + "2?annotated=true&min_score=1.5", 400, "invalid min_score"},
		{base + "2?annotated=true&min_score=x", 400, "invalid min_score"},
		{base + "2?annotated=true&min_score=NaN", 400, "invalid min_score"},
		{base + "2?annotated=true&classes=,", 400, "invalid classes"},
		{"/api/v1/captures/" + strings.Repeat("x", 300) + "/frames/0", 404, "not found"},
		{"/api/v1/captures/no-such-capture/frames/0", 404, `capture "no-such-capture" not found`},
		{base + "3", 404, "frame 3 of capture"}, // between two samples
		{base + "7?annotated=true", 404, "not stored"},
		{base + "100", 404, "not stored"}, // after the last chunk
	} {
		e.wantError(http.MethodGet, c.path, "", c.status, c.substr)
	}

	// A capture with no chunk yet.
	e.addCapture("capture-plaza-2", "plaza", "running", time.Now())
	e.wantError(http.MethodGet, "/api/v1/captures/capture-plaza-2/frames/0", "", 404, "not stored")

	// A chunk recorded whose object is gone.
	e.exec(`INSERT INTO chunks (capture_id, seq, stream_id, object_key, first_frame, frame_count, start_ms, end_ms)
		VALUES ($1, 2, 'plaza', 'streams/plaza/captures/gone.tar', 10, 1, 0, 0)`, frameCapture)
	e.wantError(http.MethodGet, base+"10", "", 404, "missing from the object store")
}

func TestFrameObjectStoreUnreachable(t *testing.T) {
	t.Parallel()
	e := newFrameEnv(t)
	down, err := objstore.Dial("127.0.0.1:1", "x", "y", "none")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Deps{DB: e.db, Store: down, Log: testLogger(t)})
	s.storeTimeout = 3 * time.Second
	start := time.Now()
	wantError(t, s.Handler(), http.MethodGet, "/api/v1/captures/"+frameCapture+"/frames/2", "", 503, "object store unavailable while reading chunk")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answering took %v with the store down", d)
	}

	// Without a store the route says so instead of crashing.
	s = New(Deps{DB: e.db, Log: testLogger(t)})
	wantError(t, s.Handler(), http.MethodGet, "/api/v1/captures/"+frameCapture+"/frames/2", "", 503, "object store not configured")

	// The database down is a 503 too.
	pool, _ := unreachable(t)
	s = New(Deps{DB: pool, Store: e.store, Log: testLogger(t)})
	wantError(t, s.Handler(), http.MethodGet, "/api/v1/captures/"+frameCapture+"/frames/2", "", 503, "database unavailable")
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestFrameAnnotatedCounts: a capture that counts draws its line across
// the frame and its zone's outline, under the boxes.
func TestFrameAnnotatedCounts(t *testing.T) {
	t.Parallel()
	e := newFrameEnv(t)
	e.exec(`UPDATE captures SET tracking = '{"lines": [{"name": "door", "from": [0, 500], "to": [768, 500]}],
		"zones": [{"name": "desk", "points": [[600, 300], [700, 300], [700, 400], [600, 400]]}]}' WHERE id = $1`, frameCapture)
	e.exec(`INSERT INTO crossings (capture_id, line, track_id, direction, stream_id, class_name, frame_index, ts)
		VALUES ($1, 'door', 1, 'in', 'plaza', 'person', 0, now()), ($1, 'door', 2, 'out', 'plaza', 'person', 4, now())`, frameCapture)
	b, _ := getImage(t, e.s.Handler(), "/api/v1/captures/"+frameCapture+"/frames/2?annotated=true&min_score=0.95")
	diff := changed(decode(t, e.frames[2]), decode(t, b))
	onLine, onZone := 0, 0
	for _, p := range diff {
		if p.Y >= 497 && p.Y <= 503 {
			onLine++
		}
		if p.X >= 597 && p.X <= 703 && (p.Y >= 297 && p.Y <= 303 || p.Y >= 397 && p.Y <= 403) {
			onZone++
		}
	}
	if onLine < 700 || onZone < 150 {
		t.Errorf("%d pixels changed on the line and %d on the zone's top and bottom edges, want the whole line and both edges", onLine, onZone)
	}
	// Without lines or zones nothing but boxes is drawn (TestFrameAnnotated).
	e.exec(`UPDATE captures SET tracking = NULL WHERE id = $1`, frameCapture)
	b, _ = getImage(t, e.s.Handler(), "/api/v1/captures/"+frameCapture+"/frames/2?annotated=true&min_score=0.95")
	if n := len(changed(decode(t, e.frames[2]), decode(t, b))); n > 0 {
		t.Errorf("%d pixels changed with nothing to draw", n)
	}
}
