package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestRecordersAndNames(t *testing.T) {
	m := New()
	m.Captured("lobby", 30)
	m.Gap("lobby")
	m.Reconnected("lobby")
	m.Opened(1500 * time.Millisecond)
	m.Skipped("lobby", 15)
	m.Detected("yolox-nano", "onnxruntime", 200*time.Millisecond, 3*time.Second, 15, map[string]int{"person": 40, "car": 2})
	m.Forward("yolox-nano", "onnxruntime", 12*time.Millisecond)
	m.RolledUp("object_counts", 40*time.Millisecond)
	m.TestFailed("not_null_object_counts")
	m.Served("/api/v1/streams/:id", "GET", 404, time.Millisecond)

	if got := testutil.ToFloat64(m.CaptureFrames.WithLabelValues("lobby")); got != 30 {
		t.Errorf("frames captured %v", got)
	}
	if got := testutil.ToFloat64(m.Detections.WithLabelValues("yolox-nano", "person")); got != 40 {
		t.Errorf("person detections %v", got)
	}
	if got := testutil.ToFloat64(m.CaptureGaps.WithLabelValues("lobby")); got != 1 {
		t.Errorf("gaps %v", got)
	}
	body := scrape(t, m)
	for _, want := range []string{
		`sightline_capture_frames_total{stream="lobby"} 30`,
		`sightline_frames_skipped_total{stream="lobby"} 15`,
		`sightline_chunk_lag_seconds_count 1`,
		`sightline_source_open_queued_seconds_bucket{le="1"} 0`,
		`sightline_source_open_queued_seconds_bucket{le="2"} 1`,
		`sightline_detect_forward_seconds_count{backend="onnxruntime",model="yolox-nano"} 1`,
		`sightline_http_request_duration_seconds_count{method="GET",route="/api/v1/streams/:id",status="404"} 1`,
		"go_goroutines", "process_cpu_seconds_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	// Every family of ours follows the conventions.
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		name := f.GetName()
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_") {
			continue
		}
		if !strings.HasPrefix(name, "sightline_") {
			t.Errorf("%s lacks the sightline_ prefix", name)
		}
		if f.GetType().String() == "COUNTER" && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s lacks _total", name)
		}
	}
}

func TestNilRecordsNothing(t *testing.T) {
	var m *Metrics
	m.Captured("s", 1)
	m.Detected("m", "b", time.Second, time.Second, 1, map[string]int{"x": 1})
	m.Served("/", "GET", 200, time.Second)
	if h := m.TemporalHandler(); h == nil {
		t.Error("a nil Metrics gives the SDK a no-op handler, not nil")
	}
}

func TestTemporalHandler(t *testing.T) {
	m := New()
	h := m.TemporalHandler().WithTags(map[string]string{"namespace": "default"})
	// The SDK tags one metric with different keys from call to call.
	h.WithTags(map[string]string{"operation": "PollActivityTaskQueue"}).Counter("temporal_request").Inc(2)
	h.WithTags(map[string]string{"operation": "StartWorkflowExecution", "workflow_type": "CaptureWorkflow"}).Counter("temporal_request").Inc(1)
	h.Counter("temporal_request").Inc(1)
	h.WithTags(map[string]string{"task_queue": "sightline"}).Gauge("temporal_num_pollers").Update(3)
	timer := h.Timer("temporal_activity_execution_latency")
	timer.Record(3 * time.Millisecond)
	timer.Record(2 * time.Second)
	timer.Record(2 * time.Minute) // beyond the last bucket: only in +Inf
	body := scrape(t, m)
	for _, want := range []string{
		`temporal_request_total{namespace="default",operation="PollActivityTaskQueue"} 2`,
		`temporal_request_total{namespace="default",operation="StartWorkflowExecution",workflow_type="CaptureWorkflow"} 1`,
		`temporal_request_total{namespace="default"} 1`,
		`temporal_num_pollers{namespace="default",task_queue="sightline"} 3`,
		`temporal_activity_execution_latency_seconds_bucket{namespace="default",le="0.005"} 1`,
		`temporal_activity_execution_latency_seconds_bucket{namespace="default",le="2.5"} 2`,
		`temporal_activity_execution_latency_seconds_bucket{namespace="default",le="60"} 2`,
		`temporal_activity_execution_latency_seconds_bucket{namespace="default",le="+Inf"} 3`,
		`temporal_activity_execution_latency_seconds_count{namespace="default"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s\n%s", want, grep(body, "temporal_"))
		}
	}
	if sanitize("a-b.c/1") != "a_b_c_1" || sanitize("1x") != "_x" {
		t.Errorf("sanitize: %s %s", sanitize("a-b.c/1"), sanitize("1x"))
	}
}

func grep(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestServe(t *testing.T) {
	m := New()
	m.Captured("dock", 7)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.ServeListener(ctx, ln) }()
	for path, want := range map[string]string{"/metrics": `sightline_capture_frames_total{stream="dock"} 7`, "/healthz": "ok"} {
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := m.Serve(context.Background(), "256.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "256.0.0.1:1") {
		t.Errorf("a bad address: %v", err)
	}
}

func TestNames(t *testing.T) {
	names := Names()
	if len(names) != 16 {
		t.Fatalf("%d names: %v", len(names), names)
	}
	for _, want := range []string{"sightline_capture_frames_total", "sightline_source_open_queued_seconds", "sightline_http_request_duration_seconds", "sightline_temporal_task_queue_backlog"} {
		if !slices.Contains(names, want) {
			t.Errorf("names lack %s: %v", want, names)
		}
	}
}
