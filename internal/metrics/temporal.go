package metrics

import (
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// TemporalHandler returns the Temporal SDK metrics handler that exports the
// SDK's own metrics (workflow and activity task latencies, poller counts,
// request failures...) on this registry: counters as NAME_total, timers as
// NAME_seconds histograms, gauges as they are. The SDK tags the same metric
// with different keys from call to call, so the series are kept here and
// written out at each scrape rather than declared up front.
func (m *Metrics) TemporalHandler() client.MetricsHandler {
	if m == nil {
		return client.MetricsNopHandler
	}
	m.sdkOnce.Do(func() {
		m.sdk = &sdkSeries{series: map[string]*sdkPoint{}}
		m.Registry.MustRegister(m.sdk)
	})
	return temporalHandler{s: m.sdk}
}

// sdkBuckets are the timers' histogram buckets, in seconds.
var sdkBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

type sdkKind int

const (
	sdkCounter sdkKind = iota
	sdkGauge
	sdkTimer
)

// sdkPoint is one series: a metric name with one set of tags.
type sdkPoint struct {
	kind   sdkKind
	name   string
	labels []string // sorted tag keys
	values []string // in labels' order
	value  float64  // counter or gauge
	count  uint64   // timer
	sum    float64
	bucket []uint64 // timer: observations per upper bound, not cumulative
}

// sdkSeries is an unchecked collector of every series the SDK has written.
type sdkSeries struct {
	mu     sync.Mutex
	series map[string]*sdkPoint
}

func (s *sdkSeries) point(kind sdkKind, name string, tags map[string]string) *sdkPoint {
	keys := slices.Sorted(maps.Keys(tags))
	var id strings.Builder
	id.WriteString(name)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = tags[k]
		id.WriteString("\xff" + k + "=" + vals[i])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.series[id.String()]
	if !ok {
		labels := make([]string, len(keys))
		for i, k := range keys {
			labels[i] = sanitize(k)
		}
		p = &sdkPoint{kind: kind, name: promName(kind, name), labels: labels, values: vals}
		if kind == sdkTimer {
			p.bucket = make([]uint64, len(sdkBuckets))
		}
		s.series[id.String()] = p
	}
	return p
}

func (s *sdkSeries) add(p *sdkPoint, v float64) {
	s.mu.Lock()
	p.value += v
	s.mu.Unlock()
}

func (s *sdkSeries) set(p *sdkPoint, v float64) {
	s.mu.Lock()
	p.value = v
	s.mu.Unlock()
}

func (s *sdkSeries) observe(p *sdkPoint, d time.Duration) {
	sec := d.Seconds()
	s.mu.Lock()
	p.count++
	p.sum += sec
	if i, _ := slices.BinarySearch(sdkBuckets, sec); i < len(p.bucket) {
		p.bucket[i]++
	}
	s.mu.Unlock()
}

// Describe sends nothing: the series are only known as the SDK writes them.
func (s *sdkSeries) Describe(chan<- *prometheus.Desc) {}

func (s *sdkSeries) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.series {
		desc := prometheus.NewDesc(p.name, "Temporal SDK metric "+p.name+".", p.labels, nil)
		switch p.kind {
		case sdkCounter:
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, p.value, p.values...)
		case sdkGauge:
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, p.value, p.values...)
		case sdkTimer:
			cum := make(map[float64]uint64, len(sdkBuckets))
			var n uint64
			for i, b := range sdkBuckets {
				n += p.bucket[i]
				cum[b] = n
			}
			ch <- prometheus.MustNewConstHistogram(desc, p.count, p.sum, cum, p.values...)
		}
	}
}

// promName makes an SDK metric name a Prometheus one with its unit suffix.
func promName(kind sdkKind, name string) string {
	name = sanitize(name)
	switch {
	case kind == sdkCounter && !strings.HasSuffix(name, "_total"):
		return name + "_total"
	case kind == sdkTimer && !strings.HasSuffix(name, "_seconds"):
		return name + "_seconds"
	}
	return name
}

// sanitize keeps a name within Prometheus' [a-zA-Z_][a-zA-Z0-9_]*.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}

// temporalHandler is the SDK's view of the series: one set of tags.
type temporalHandler struct {
	s    *sdkSeries
	tags map[string]string
}

func (h temporalHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(h.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, tags)
	return temporalHandler{s: h.s, tags: merged}
}

func (h temporalHandler) Counter(name string) client.MetricsCounter {
	return sdkCounterFunc(func(v int64) { h.s.add(h.s.point(sdkCounter, name, h.tags), float64(v)) })
}

func (h temporalHandler) Gauge(name string) client.MetricsGauge {
	return sdkGaugeFunc(func(v float64) { h.s.set(h.s.point(sdkGauge, name, h.tags), v) })
}

func (h temporalHandler) Timer(name string) client.MetricsTimer {
	return sdkTimerFunc(func(d time.Duration) { h.s.observe(h.s.point(sdkTimer, name, h.tags), d) })
}

type sdkCounterFunc func(int64)

func (f sdkCounterFunc) Inc(v int64) { f(v) }

type sdkGaugeFunc func(float64)

func (f sdkGaugeFunc) Update(v float64) {
	if !math.IsNaN(v) {
		f(v)
	}
}

type sdkTimerFunc func(time.Duration)

func (f sdkTimerFunc) Record(d time.Duration) { f(d) }
