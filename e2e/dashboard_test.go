package e2e

import (
	"io"
	"math"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/testenv"
)

// startDashboard runs a worker and the API as separate processes on the
// stack (the dashboard's events cross processes through PostgreSQL) and
// waits for the API; it fails the test when the binary was built without
// the dashboard. It returns the API's process.
func startDashboard(t testing.TB, s *stack) (apiClient, *exec.Cmd) {
	t.Helper()
	addr := freeAddr(t)
	s.env = append(s.env, "SIGHTLINE_API_ADDR="+addr)
	s.start("worker")
	return waitDashboard(t, "http://"+addr, s.start("api"))
}

func waitDashboard(t testing.TB, base string, cmd *exec.Cmd) (apiClient, *exec.Cmd) {
	t.Helper()
	api := apiClient{t: t, base: base}
	var page string
	waitFor(t, "the API", time.Minute, func() bool {
		resp, err := http.Get(api.base + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		page = string(body)
		return resp.StatusCode == http.StatusOK
	})
	if !strings.Contains(page, "/assets/app.js") {
		t.Fatalf("the sightline binary has no dashboard (run `make web` before the tests); / answers:\n%s", page)
	}
	return api, cmd
}

type latestFrame struct {
	CaptureID  string `json:"capture_id"`
	FrameIndex int    `json:"frame_index"`
	Detections []struct {
		Class   string  `json:"class"`
		Score   float64 `json:"score"`
		TrackID int64   `json:"track_id"`
	} `json:"detections"`
}

// TestDashboard drives the dashboard in headless Chromium after a real
// capture of vtest.avi through the real services: every page renders what
// the API answers, the overlay draws exactly the detections above the
// chosen score, and a capture started from the form shows its progress over
// Server-Sent Events, then its end, without a reload. No page may log a
// console error. Each page's screenshot is saved as an artifact.
func TestDashboard(t *testing.T) {
	s := newStack(t)
	api, apiCmd := startDashboard(t, s)
	video := testenv.SharedFile(t, "vtest.avi")
	api.must(http.StatusCreated, http.MethodPost, "/api/v1/streams",
		`{"id":"plaza","name":"Plaza","source":"`+video+`","tracking":{"lines":[{"name":"middle","from":[0,330],"to":[768,330]}],
		"zones":[{"name":"centre","points":[[200,200],[600,200],[600,500],[200,500]]}]}}`, nil)
	var started struct {
		CaptureID string `json:"capture_id"`
	}
	api.must(http.StatusAccepted, http.MethodPost, "/api/v1/streams/plaza/captures",
		`{"max_frames": 40, "chunk_frames": 20}`, &started)
	if st := api.waitCapture(started.CaptureID, func(st captureStatus) bool {
		return st.Status == "completed" || st.Status == "failed"
	}); st.Status != "completed" {
		t.Fatalf("capture: %+v", st)
	}
	var objects []struct {
		Object        string  `json:"object"`
		AvgPerFrame   float64 `json:"avg_per_frame"`
		UniqueObjects int64   `json:"unique_objects"`
	}
	waitFor(t, "the rollup", 2*time.Minute, func() bool {
		api.must(http.StatusOK, http.MethodGet, "/api/v1/streams/plaza/objects", "", &objects)
		return len(objects) > 0
	})

	b := newBrowser(t)
	b.run("opening the overview", chromedp.Navigate(api.base+"/#/"))
	b.waitJS("the overview", `document.body.dataset.ready === "overview"`, 30*time.Second)
	b.waitJS("the stream's row", `!!document.querySelector('[data-testid="streams"] tr[data-stream="plaza"]')`, 10*time.Second)
	b.screenshot("overview")

	// The stream page: chart, ranking, overlay.
	b.eval(`location.hash = "#/streams/plaza"`, nil)
	b.waitJS("the stream page", `document.body.dataset.ready === "stream"`, 30*time.Second)
	b.waitJS("the chart", `+(document.querySelector('[data-testid="series-chart"]')?.dataset.points ?? 0) > 0`, 10*time.Second)
	var chartPoints string
	b.eval(`document.querySelector('[data-testid="series-chart"]').dataset.points`, &chartPoints)
	// Ask the API exactly what the page asked.
	var seriesURL string
	b.eval(`performance.getEntriesByType("resource").map(e => e.name).filter(n => n.includes("/streams/plaza/series")).pop() ?? ""`, &seriesURL)
	if seriesURL == "" {
		t.Fatal("the stream page did not request its series")
	}
	var series []struct {
		Buckets []time.Time `json:"buckets"`
	}
	api.must(http.StatusOK, http.MethodGet, strings.TrimPrefix(seriesURL, api.base), "", &series)
	want := 0
	for _, sr := range series {
		want += len(sr.Buckets)
	}
	if strconv.Itoa(want) != chartPoints {
		t.Errorf("the chart plots %s points, %s answers %d", chartPoints, seriesURL, want)
	}

	var first struct {
		Object string `json:"object"`
		Avg    string `json:"avg"`
		Unique string `json:"unique"`
	}
	b.eval(`(() => { const r = document.querySelector('[data-testid="stream-objects"] tr[data-object]');
		return { object: r.dataset.object, avg: r.querySelector('[data-field="avg_per_frame"]').dataset.value,
			unique: r.querySelector('[data-field="unique_objects"]').dataset.value }; })()`, &first)
	avg, _ := strconv.ParseFloat(first.Avg, 64)
	if first.Object != "person" || objects[0].Object != "person" || math.Abs(avg-objects[0].AvgPerFrame) > 1e-12 {
		t.Errorf("ranking's first row = %+v, the API ranks %+v first", first, objects[0])
	}
	// People counted once each: the tracks, which the API counts the same.
	if unique, _ := strconv.Atoi(first.Unique); unique == 0 || int64(unique) != objects[0].UniqueObjects {
		t.Errorf("the ranking shows %s people counted once, the API %d", first.Unique, objects[0].UniqueObjects)
	}

	var latest latestFrame
	api.must(http.StatusOK, http.MethodGet, "/api/v1/streams/plaza/frames/latest", "", &latest)
	boxes := func(minScore float64, off string) int {
		n := 0
		for _, d := range latest.Detections {
			if d.Score >= minScore && d.Class != off {
				n++
			}
		}
		return n
	}
	b.waitJS("the overlay", `document.querySelector('[data-testid="overlay"]')?.dataset.boxes !== undefined`, 10*time.Second)
	checkOverlay := func(minScore float64, off string) {
		t.Helper()
		wantBoxes := strconv.Itoa(boxes(minScore, off))
		b.waitJS("the overlay with "+wantBoxes+" boxes",
			`document.querySelector('[data-testid="overlay"]').dataset.boxes === `+jsString(wantBoxes), 5*time.Second)
	}
	var slider float64
	b.eval(`+document.querySelector('[data-testid="min-score"]').value`, &slider)
	checkOverlay(slider, "")
	if boxes(slider, "") == 0 {
		t.Errorf("the latest frame has no detection above %.2f to draw: %+v", slider, latest)
	}
	b.eval(`(() => { const s = document.querySelector('[data-testid="min-score"]');
		s.value = "0.6"; s.dispatchEvent(new Event("input", { bubbles: true })); })()`, nil)
	checkOverlay(0.6, "")
	b.eval(`document.querySelector('[data-testid="min-score"]').value = "0.3";
		document.querySelector('[data-testid="min-score"]').dispatchEvent(new Event("input", { bubbles: true }));
		document.querySelector('input[data-class="person"]').click()`, nil)
	checkOverlay(0.3, "person")
	b.eval(`document.querySelector('input[data-class="person"]').click()`, nil)
	checkOverlay(0.3, "")
	b.waitJS("the latest frame's picture", `document.querySelector('[data-testid="overlay"]').dataset.image === "loaded"`, 10*time.Second)
	// The stream's line and zone are drawn with the boxes, which carry their tracks.
	b.waitJS("the stream's line and zone on the overlay", `(() => { const o = document.querySelector('[data-testid="overlay"]');
		return o.dataset.lines === "1" && o.dataset.zones === "1"; })()`, 5*time.Second)
	tracked := 0
	for _, d := range latest.Detections {
		if d.TrackID > 0 {
			tracked++
		}
	}
	if tracked == 0 {
		t.Errorf("no detection of the latest frame is in a track: %+v", latest.Detections)
	}
	b.screenshot("stream")

	// Start a capture from the form: the page moves to the capture (no
	// reload: the marker set here survives) and follows it over SSE.
	b.eval(`window.__sameDocument = true;
		(() => { const f = document.querySelector('form[data-testid="start-capture"]');
		f.elements.namedItem("max_frames").value = "30";
		f.elements.namedItem("chunk_frames").value = "10";
		f.querySelector('button[type="submit"]').click(); })()`, nil)
	b.waitJS("the capture page", `location.hash.startsWith("#/captures/") && document.body.dataset.ready === "capture"`, 30*time.Second)
	var hash string
	b.eval(`location.hash`, &hash)
	formCapture := strings.TrimPrefix(hash, "#/captures/")
	b.waitJS("the capture to finish", `document.querySelector('[data-testid="capture-status"]')?.textContent.trim() === "completed"`, 4*time.Minute)
	// The page then reads the finished capture: no phase left.
	b.waitJS("the finished capture read again", `document.querySelector('[data-testid="phase"]').textContent === ""`, 10*time.Second)
	var events int
	var sameDocument bool
	var frames string
	b.eval(`+document.querySelector('[data-testid="capture-page"]').dataset.events`, &events)
	b.eval(`window.__sameDocument === true`, &sameDocument)
	b.eval(`document.querySelector('[data-testid="frames-captured"]').textContent.trim()`, &frames)
	var st captureStatus
	api.must(http.StatusOK, http.MethodGet, "/api/v1/captures/"+formCapture, "", &st)
	if st.Status != "completed" || st.FramesCaptured != 30 {
		t.Errorf("the form's capture %s: %+v, want 30 frames, completed", formCapture, st)
	}
	if events < 2 || !sameDocument || frames != "30" {
		t.Errorf("capture page: %d events over SSE, same document %v, frames captured %q; want 2 or more, true, 30",
			events, sameDocument, frames)
	}
	// The scrubber spans the stored frames; frame 5 is drawn with exactly
	// its detections above the score.
	b.waitJS("the scrubber over 30 frames", `+document.querySelector('[data-testid="scrubber"]').max === 29`, 10*time.Second)
	b.eval(`(() => { const s = document.querySelector('[data-testid="scrubber"]');
		s.value = "5"; s.dispatchEvent(new Event("input", { bubbles: true })); })()`, nil)
	api.must(http.StatusOK, http.MethodGet, "/api/v1/captures/"+formCapture+"/frames/5/detections", "", &latest)
	b.eval(`+document.querySelector('[data-testid="capture-page"] [data-testid="min-score"]').value`, &slider)
	wantBoxes := strconv.Itoa(boxes(slider, ""))
	b.waitJS("frame 5 with "+wantBoxes+" boxes over its picture", `(() => { const o = document.querySelector('[data-testid="overlay"]');
		return o.dataset.frame === "5" && o.dataset.boxes === `+jsString(wantBoxes)+` && o.dataset.image === "loaded"; })()`, 10*time.Second)
	b.screenshot("capture")

	b.eval(`location.hash = "#/rankings?object=person"`, nil)
	b.waitJS("the rankings page", `document.body.dataset.ready === "rankings"`, 30*time.Second)
	b.waitJS("the stream's ranking", `!!document.querySelector('[data-testid="rankings"] tr[data-stream="plaza"] [data-testid="sparkline"]')`, 10*time.Second)
	b.screenshot("rankings")

	// The API goes away while a capture runs and ends; back, the page gets
	// the events it missed (its event stream resumes with Last-Event-ID) and
	// shows the capture without a reload.
	b.eval(`location.hash = "#/streams/plaza"`, nil)
	b.waitJS("the stream page", `document.body.dataset.ready === "stream"`, 30*time.Second)
	b.waitJS("live events", `document.getElementById("live").dataset.state === "open"`, 10*time.Second)
	if err := apiCmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = apiCmd.Wait()
	b.waitJS("the page to notice", `document.getElementById("live").dataset.state === "reconnecting"`, 20*time.Second)
	tc := testenv.Temporal(t)
	missed := "capture-plaza-missed"
	getResult(t, s.runCapture(tc, missed, contract.CaptureInput{StreamID: "plaza", Source: video,
		Settings: contract.Settings{MaxFrames: 10, ChunkFrames: 10}.WithQueues(s.detect, "").WithDefaults()}), 3*time.Minute)
	waitDashboard(t, api.base, s.start("api"))
	b.waitJS("the missed capture, completed", `document.querySelector('[data-testid="captures"] tr[data-capture="`+missed+`"] [data-field="status"]')?.textContent.trim() === "completed"`, 30*time.Second)
	b.eval(`window.__sameDocument === true`, &sameDocument)
	if !sameDocument {
		t.Error("the stream page reloaded to show the missed capture")
	}
	// While the API was down the browser itself logged the refused
	// connections; anything else is an error.
	var errs []string
	for _, e := range b.consoleErrors() {
		if !strings.Contains(e, "ERR_CONNECTION_REFUSED") {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		t.Errorf("the dashboard logged %d console errors:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}
