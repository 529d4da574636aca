package api

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestFrameDetectionsAndLatestFrame(t *testing.T) {
	t.Parallel()
	e := newFrameEnv(t)
	e.exec(`INSERT INTO streams (id, name, source) VALUES ('empty', 'Empty', '/v.avi')`)
	l := newLiveSpec(t) // every answer must match openapi.yaml
	h := e.s.Handler()
	get := func(path string, want int) AnalysedFrame {
		t.Helper()
		var f AnalysedFrame
		if body := l.send(h, http.MethodGet, path, "", "", want); want == http.StatusOK {
			if err := json.Unmarshal(body, &f); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		return f
	}
	base := "/api/v1/captures/" + frameCapture + "/frames/"

	f := get(base+"2/detections", http.StatusOK)
	if f.CaptureID != frameCapture || f.StreamID != "plaza" || f.FrameIndex != 2 || f.PTSms != 80 ||
		f.Width != 768 || f.Height != 576 || f.Model != "yolox" || f.ImageURL != base+"2" {
		t.Errorf("frame 2: %+v", f)
	}
	if len(f.Detections) != 3 || f.Detections[0].Box != personBox || f.Detections[1].Class != "car" ||
		f.Detections[2].Box != faintBox || f.Detections[0].Score < f.Detections[1].Score {
		t.Errorf("frame 2 detections (all, most confident first): %+v", f.Detections)
	}
	if f := get(base+"2/detections?min_score=0.5", http.StatusOK); len(f.Detections) != 2 {
		t.Errorf("min_score=0.5: %+v", f.Detections)
	}
	if f := get(base+"2/detections?classes=car", http.StatusOK); len(f.Detections) != 1 || f.Detections[0].Box != carBox {
		t.Errorf("classes=car: %+v", f.Detections)
	}
	// Analysed without detections: an empty list, not null.
	if f := get(base+"0/detections", http.StatusOK); f.Detections == nil || len(f.Detections) != 0 {
		t.Errorf("frame 0: %+v", f)
	}
	get(base+"6/detections", http.StatusNotFound) // stored, not analysed yet
	get(base+"3/detections", http.StatusNotFound) // between samples
	get(base+"2/detections?annotated=true", http.StatusBadRequest)
	get(base+"2/detections?min_score=2", http.StatusBadRequest)
	get(base+"x/detections", http.StatusBadRequest)

	// The newest analysed frame of the stream is frame 4 (written last).
	if f := get("/api/v1/streams/plaza/frames/latest", http.StatusOK); f.FrameIndex != 4 || f.CaptureID != frameCapture {
		t.Errorf("latest: %+v", f)
	}
	get("/api/v1/streams/empty/frames/latest", http.StatusNotFound)
	get("/api/v1/streams/nowhere/frames/latest", http.StatusNotFound)

	// The analysed frames, sampled: indexes 0, 2 and 4; frames 6 and 8 are
	// stored but not analysed yet.
	list := func(query string) (idx []int) {
		t.Helper()
		var frames []FrameSummary
		if err := json.Unmarshal(l.send(h, http.MethodGet, "/api/v1/captures/"+frameCapture+"/frames"+query, "", "", http.StatusOK), &frames); err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			idx = append(idx, f.FrameIndex)
		}
		return idx
	}
	if got := list(""); !equal(got, []int{0, 2, 4}) {
		t.Errorf("frames = %v, want 0 2 4", got)
	}
	if got := list("?after=0&limit=1"); !equal(got, []int{2}) {
		t.Errorf("frames after 0, 1 of them = %v, want 2", got)
	}
	l.send(h, http.MethodGet, "/api/v1/captures/capture-nope/frames", "", "", http.StatusNotFound)
	l.send(h, http.MethodGet, "/api/v1/captures/"+frameCapture+"/frames?limit=0", "", "", http.StatusBadRequest)
	l.send(h, http.MethodGet, "/api/v1/captures/"+frameCapture+"/frames?after=-2", "", "", http.StatusBadRequest)
}
