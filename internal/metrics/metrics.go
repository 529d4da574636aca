// Package metrics defines Sightline's Prometheus metrics, once, for every
// process: the capture, detection, rollup and API collectors, the Go and
// process collectors, and (in temporal.go) an adapter that exports the
// Temporal SDK's own metrics. Names follow Prometheus conventions: the
// sightline_ prefix, base units, _total on counters.
package metrics

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every Sightline collector on one registry. A nil *Metrics
// records nothing, so code paths without a registry (tools, tests) need no
// checks.
type Metrics struct {
	Registry *prometheus.Registry

	CaptureFrames     *prometheus.CounterVec   // stream
	CaptureReconnects *prometheus.CounterVec   // stream
	CaptureGaps       *prometheus.CounterVec   // stream
	OpenQueued        prometheus.Histogram     // a source's wait for the worker's earlier opens
	FramesSkipped     *prometheus.CounterVec   // stream
	ChunkLag          prometheus.Histogram     // chunk stored → its rows committed
	DetectChunk       *prometheus.HistogramVec // model, backend
	DetectForward     *prometheus.HistogramVec // model, backend
	FramesAnalysed    *prometheus.CounterVec   // model
	Detections        *prometheus.CounterVec   // model, class
	RollupModel       *prometheus.HistogramVec // model
	RollupTestFails   *prometheus.CounterVec   // test
	HTTPRequests      *prometheus.HistogramVec // route, method, status

	sdkOnce sync.Once
	sdk     *sdkSeries // the Temporal SDK's metrics, once a client asks for them
}

// lagBuckets cover a chunk's lag from well under a second to ten minutes.
var lagBuckets = []float64{0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600}

// New makes the collectors and registers them, with the Go and process
// collectors, on a registry of their own.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		CaptureFrames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sightline_capture_frames_total", Help: "Frames captured and stored, per stream."}, []string{"stream"}),
		CaptureReconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sightline_capture_reconnects_total", Help: "Times a live source was reopened after it dropped, per stream."}, []string{"stream"}),
		CaptureGaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sightline_capture_gaps_total", Help: "Outages of a live source recorded as gaps, per stream."}, []string{"stream"}),
		OpenQueued: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sightline_source_open_queued_seconds", Help: "Time a source waited for the worker's earlier opens before its own (a worker opens one at a time).",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60}}),
		FramesSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sightline_frames_skipped_total", Help: "Captured frames left undetected by realtime mode because detection fell behind, per stream."}, []string{"stream"}),
		ChunkLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sightline_chunk_lag_seconds", Help: "Time from a chunk being stored to its detections being committed.", Buckets: lagBuckets}),
		DetectChunk: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sightline_detect_chunk_seconds", Help: "Time to detect one chunk: fetch, decode, inference and writing its rows.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}, []string{"model", "backend"}),
		DetectForward: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sightline_detect_forward_seconds", Help: "Time of one forward pass of a batch, with its pre- and post-processing.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 12)}, []string{"model", "backend"}),
		FramesAnalysed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sightline_frames_analysed_total", Help: "Frames run through a detector and stored, per model."}, []string{"model"}),
		Detections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sightline_detections_total", Help: "Detections stored, per model and class."}, []string{"model", "class"}),
		RollupModel: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sightline_rollup_model_seconds", Help: "Time to build one rollup model.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}, []string{"model"}),
		RollupTestFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sightline_rollup_test_failures_total", Help: "Rollup data-test runs that found failing rows, per test."}, []string{"test"}),
		HTTPRequests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sightline_http_request_duration_seconds", Help: "API request durations, by route, method and status.",
			Buckets: prometheus.DefBuckets}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(m.own()...)
	return m
}

func (m *Metrics) own() []prometheus.Collector {
	return []prometheus.Collector{m.CaptureFrames, m.CaptureReconnects, m.CaptureGaps, m.OpenQueued, m.FramesSkipped, m.ChunkLag,
		m.DetectChunk, m.DetectForward, m.FramesAnalysed, m.Detections, m.RollupModel, m.RollupTestFails, m.HTTPRequests}
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// Names lists every sightline_* metric a process may export (those of the
// API's task-queue watch included), for dashboards and their tests.
func Names() []string {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range New().own() {
			c.Describe(ch)
		}
		(&backlogCollector{}).Describe(ch)
		close(ch)
	}()
	var names []string
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			names = append(names, m[1])
		}
	}
	sort.Strings(names)
	return names
}

// Handler serves the registry in Prometheus' exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry, EnableOpenMetrics: true})
}

// Captured counts frames a capture stored.
func (m *Metrics) Captured(stream string, frames int) {
	if m != nil {
		m.CaptureFrames.WithLabelValues(stream).Add(float64(frames))
	}
}

// Gap counts an outage of a live source.
func (m *Metrics) Gap(stream string) {
	if m != nil {
		m.CaptureGaps.WithLabelValues(stream).Inc()
	}
}

// Opened records how long a source waited for its turn to open.
func (m *Metrics) Opened(queued time.Duration) {
	if m != nil {
		m.OpenQueued.Observe(queued.Seconds())
	}
}

// Reconnected counts a live source reopened after an outage.
func (m *Metrics) Reconnected(stream string) {
	if m != nil {
		m.CaptureReconnects.WithLabelValues(stream).Inc()
	}
}

// Skipped counts frames realtime mode left undetected.
func (m *Metrics) Skipped(stream string, frames int) {
	if m != nil {
		m.FramesSkipped.WithLabelValues(stream).Add(float64(frames))
	}
}

// Detected records one chunk's detection: how long it took, how long after
// it was stored (when known) it became queryable, its frames and its
// detections per class.
func (m *Metrics) Detected(model, backend string, took, lag time.Duration, frames int, perClass map[string]int) {
	if m == nil {
		return
	}
	m.DetectChunk.WithLabelValues(model, backend).Observe(took.Seconds())
	if lag > 0 {
		m.ChunkLag.Observe(lag.Seconds())
	}
	m.FramesAnalysed.WithLabelValues(model).Add(float64(frames))
	for class, n := range perClass {
		m.Detections.WithLabelValues(model, class).Add(float64(n))
	}
}

// Forward records one forward pass.
func (m *Metrics) Forward(model, backend string, took time.Duration) {
	if m != nil {
		m.DetectForward.WithLabelValues(model, backend).Observe(took.Seconds())
	}
}

// RolledUp records one model's build time.
func (m *Metrics) RolledUp(model string, took time.Duration) {
	if m != nil {
		m.RollupModel.WithLabelValues(model).Observe(took.Seconds())
	}
}

// TestFailed counts a data-test run that found failing rows.
func (m *Metrics) TestFailed(test string) {
	if m != nil {
		m.RollupTestFails.WithLabelValues(test).Inc()
	}
}

// Served records one API request.
func (m *Metrics) Served(route, method string, status int, took time.Duration) {
	if m != nil {
		m.HTTPRequests.WithLabelValues(route, method, strconv.Itoa(status)).Observe(took.Seconds())
	}
}
