package e2e

import (
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sightline-video/sightline/internal/testenv"
)

// scrape fetches a /metrics page and parses it.
func scrape(t *testing.T, url string) metricFamilies {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: status %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return metricFamilies{t: t, url: url, fams: fams}
}

type metricFamilies struct {
	t    *testing.T
	url  string
	fams map[string]*dto.MetricFamily
}

// series returns the metrics of a family whose labels include want.
func (m metricFamilies) series(name string, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
	for _, s := range m.fams[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range s.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range want {
			ok = ok && labels[k] == v
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// value is the sum of a counter's or gauge's matching series, or of a
// histogram's observation counts.
func (m metricFamilies) value(name string, labels map[string]string) float64 {
	var sum float64
	for _, s := range m.series(name, labels) {
		switch {
		case s.Counter != nil:
			sum += s.Counter.GetValue()
		case s.Gauge != nil:
			sum += s.Gauge.GetValue()
		case s.Histogram != nil:
			sum += float64(s.Histogram.GetSampleCount())
		}
	}
	return sum
}

func (m metricFamilies) has(prefix string) bool {
	for name := range m.fams {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// TestMetricsMatchTheDatabase runs the roles as separate processes (the
// main worker, a detect worker and the API, each with its /metrics), does a
// real capture through the API, then scrapes every endpoint and checks the
// figures against the rows the capture wrote.
func TestMetricsMatchTheDatabase(t *testing.T) {
	s := newStack(t)
	apiAddr, mainAddr, detectAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	s.env = append(s.env, "SIGHTLINE_API_ADDR="+apiAddr)
	s.start("worker", "--roles", "main", "--metrics-addr", mainAddr)
	s.start("worker", "--roles", "detect", "--metrics-addr", detectAddr)
	s.start("api")
	api := apiClient{t: t, base: "http://" + apiAddr}
	api.waitHealthy()

	video := testenv.SharedFile(t, "vtest.avi")
	api.must(http.StatusCreated, http.MethodPost, "/api/v1/streams", `{"id":"metered","source":"`+video+`"}`, nil)
	var started struct {
		CaptureID string `json:"capture_id"`
	}
	api.must(http.StatusAccepted, http.MethodPost, "/api/v1/streams/metered/captures", `{"max_frames": 48, "chunk_frames": 12}`, &started)
	st := api.waitCapture(started.CaptureID, func(st captureStatus) bool { return st.Status == "completed" || st.Status == "failed" })
	if st.Status != "completed" {
		t.Fatalf("capture: %+v", st)
	}

	main := scrape(t, "http://"+mainAddr+"/metrics")
	detect := scrape(t, "http://"+detectAddr+"/metrics")
	apiM := scrape(t, api.base+"/metrics")
	id := started.CaptureID

	// Capture, on the main worker.
	frames := s.count(`SELECT count(*) FROM frames WHERE capture_id = $1`, id)
	if got := main.value("sightline_capture_frames_total", map[string]string{"stream": "metered"}); int(got) != frames || frames != 48 {
		t.Errorf("frames captured: metric %v, database %d", got, frames)
	}
	if got, want := main.value("sightline_capture_gaps_total", nil), s.count(`SELECT count(*) FROM capture_gaps`); int(got) != want {
		t.Errorf("gaps: metric %v, database %d", got, want)
	}
	// One capture of one file: one open, whose wait the main worker observed.
	if got := main.value("sightline_source_open_queued_seconds", nil); got != 1 {
		t.Errorf("opens observed: %v, want 1", got)
	}

	// Detection, on the detect worker: per model, and per class.
	var model string
	if err := s.db.QueryRow(t.Context(), `SELECT min(model) FROM frames WHERE capture_id = $1`, id).Scan(&model); err != nil {
		t.Fatal(err)
	}
	if got := detect.value("sightline_frames_analysed_total", map[string]string{"model": model}); int(got) != frames {
		t.Errorf("frames analysed by %s: metric %v, database %d", model, got, frames)
	}
	classes := s.pairs(`SELECT class_name, count(*)::int FROM detections WHERE capture_id = $1 GROUP BY 1`, id)
	if len(classes) == 0 {
		t.Fatal("the capture found nothing: no classes to compare")
	}
	for _, c := range classes {
		if got := detect.value("sightline_detections_total", map[string]string{"model": model, "class": c.k}); int(got) != c.v {
			t.Errorf("%s detections: metric %v, database %d", c.k, got, c.v)
		}
	}
	chunks := s.count(`SELECT count(*) FROM chunks WHERE capture_id = $1 AND detected_at IS NOT NULL`, id)
	for _, name := range []string{"sightline_detect_chunk_seconds", "sightline_chunk_lag_seconds"} {
		if got := detect.value(name, nil); int(got) != chunks || chunks != 4 {
			t.Errorf("%s observations %v, detected chunks %d", name, got, chunks)
		}
	}
	if got := detect.value("sightline_detect_forward_seconds", map[string]string{"model": model}); int(got) < frames {
		t.Errorf("forward passes %v for %d frames of a batch-1 model", got, frames)
	}
	if len(detect.series("sightline_detect_forward_seconds", map[string]string{"backend": ""})) > 0 {
		t.Error("forward passes without a backend label")
	}

	// Rollups, on the main worker: every model the run built.
	models := s.pairs(`SELECT m, 1 FROM events, jsonb_array_elements_text(data->'models') m WHERE type = 'rollup.finished'`)
	if len(models) == 0 {
		t.Fatal("no rollup.finished event names the models built")
	}
	for _, m := range models {
		if got := main.value("sightline_rollup_model_seconds", map[string]string{"model": m.k}); got < 1 {
			t.Errorf("rollup model %s: %v builds recorded", m.k, got)
		}
	}

	// The API: its requests by route and status, and the queues' backlogs.
	if got := apiM.value("sightline_http_request_duration_seconds", map[string]string{
		"route": "/api/v1/streams", "method": "POST", "status": "201"}); got != 1 {
		t.Errorf("POST /api/v1/streams 201: %v requests", got)
	}
	if got := apiM.value("sightline_http_request_duration_seconds", map[string]string{
		"route": "/api/v1/captures/:id", "method": "GET", "status": "200"}); got < 1 {
		t.Errorf("GET /api/v1/captures/:id 200: %v requests", got)
	}
	for _, q := range []string{s.queue, s.detect} {
		for _, typ := range []string{"workflow", "activity"} {
			l := map[string]string{"task_queue": q, "type": typ}
			if len(apiM.series("sightline_temporal_task_queue_backlog", l)) != 1 {
				t.Errorf("no backlog for %s %s", q, typ)
			} else if got := apiM.value("sightline_temporal_task_queue_backlog", l); got != 0 {
				t.Errorf("backlog of %s %s is %v after the capture ended", q, typ, got)
			}
		}
	}
	if got := apiM.value("sightline_temporal_task_queue_pollers", map[string]string{"task_queue": s.detect, "type": "activity"}); got < 1 {
		t.Errorf("pollers on %s: %v", s.detect, got)
	}

	// Everyone: the Temporal SDK's own metrics, and Go's and the process's.
	for _, m := range []metricFamilies{main, detect, apiM} {
		for _, prefix := range []string{"temporal_", "go_goroutines", "process_cpu_seconds_total"} {
			if !m.has(prefix) {
				t.Errorf("%s has no %s metrics", m.url, prefix)
			}
		}
	}
	if got := main.value("temporal_workflow_completed_total", map[string]string{"workflow_type": "CaptureWorkflow"}); got < 1 {
		t.Errorf("the SDK counted %v completed capture workflows", got)
	}
}
