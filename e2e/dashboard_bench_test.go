package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	dbtlike "github.com/sightline-video/sightline/dbt_like"
)

// BenchmarkDashboard measures how soon the dashboard's pages are ready (their
// data drawn, not just painted) with a realistic history in the rollup
// tables: 200 streams with a week of minute buckets each and one stream with
// a year of them, two objects each. The baseline is the same pages on the
// same server before the history is seeded, so the ratios say what the data
// costs. It prints one dashboard-bench: line.
//
// Run it with `make bench` (or go test -run '^$' -bench Dashboard -benchtime 1x ./e2e/).
func BenchmarkDashboard(b *testing.B) {
	const (
		streams = 200
		loads   = 5 // page loads per figure; the median is reported
	)
	s := newStack(b)
	api, _ := startDashboard(b, s)
	ctx := context.Background()
	project, err := dbtlike.DefaultProject()
	if err != nil {
		b.Fatal(err)
	}
	rollup := func(opts dbtlike.RunOptions) {
		opts.SkipTests, opts.Logger = true, slog.New(slog.NewTextHandler(io.Discard, nil))
		if _, err := project.Run(ctx, s.db, opts); err != nil {
			b.Fatalf("rollup: %v", err)
		}
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO streams (id, name, source) VALUES ('year', 'A year of minutes', '/videos/year.avi')`); err != nil {
		b.Fatal(err)
	}
	rollup(dbtlike.RunOptions{}) // creates the analytics tables

	br := newBrowser(b)
	measure := func() (overview, stream, yearChart, seriesDay, seriesYear time.Duration) {
		overview = medianOf(loads, func() time.Duration { return br.loadTime(api.base+"/#/", "overview") })
		stream = medianOf(loads, func() time.Duration { return br.loadTime(api.base+"/#/streams/year", "stream") })
		yearChart = medianOf(loads, func() time.Duration {
			return br.loadTime(api.base+"/#/streams/year?range=1y", "stream")
		})
		seriesDay = medianOf(loads, func() time.Duration { return timeGet(b, api.base+"/api/v1/streams/year/series") })
		seriesYear = medianOf(loads, func() time.Duration {
			return timeGet(b, api.base+"/api/v1/streams/year/series?bucket=day&from="+
				time.Now().AddDate(-1, 0, 0).UTC().Format(time.RFC3339))
		})
		return
	}
	ov0, st0, yr0, sd0, sy0 := measure()

	seedStart := time.Now()
	end := time.Now().UTC().Truncate(time.Minute)
	if _, err := s.db.Exec(ctx, `
INSERT INTO streams (id, name, source)
SELECT 'cam-' || i, 'Camera ' || i, '/videos/cam-' || i || '.avi' FROM generate_series(1, $1) i`, streams); err != nil {
		b.Fatal(err)
	}
	for _, q := range []struct {
		streams string
		minutes int
	}{{`SELECT 'cam-' || i AS id FROM generate_series(1, ` + fmt.Sprint(streams) + `) i`, 7 * 24 * 60}, {`SELECT 'year' AS id`, 365 * 24 * 60}} {
		// Per minute: 10 frames; people vary over the day, cars less.
		if _, err := s.db.Exec(ctx, `
INSERT INTO analytics.stream_buckets (stream_id, bucket, frames, objects, first_ts, last_ts)
SELECT s.id, $1::timestamptz - m * interval '1 minute', 10, 30 + (m % 60), $1::timestamptz - m * interval '1 minute',
       $1::timestamptz - m * interval '1 minute' + interval '54 seconds'
FROM (`+q.streams+`) s, generate_series(1, $2) m`, end, q.minutes); err != nil {
			b.Fatalf("seeding stream_buckets: %v", err)
		}
		if _, err := s.db.Exec(ctx, `
INSERT INTO analytics.object_counts (stream_id, object, bucket, frames, objects, avg_per_frame, max_per_frame)
SELECT s.id, o.object, $1::timestamptz - m * interval '1 minute', 10, o.n, o.n / 10.0, o.n / 5
FROM (`+q.streams+`) s, generate_series(1, $2) m,
     LATERAL (VALUES ('person', 20 + (m % 60)), ('car', 10)) o(object, n)`, end, q.minutes); err != nil {
			b.Fatalf("seeding object_counts: %v", err)
		}
	}
	if _, err := s.db.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	// The real models derive the rest from the seeded minute buckets: the
	// hourly tables (built in full, as they are from frames otherwise), then
	// the rankings.
	rollup(dbtlike.RunOptions{Select: []string{"stream_buckets_hourly", "object_counts_hourly"}, FullRefresh: true})
	rollup(dbtlike.RunOptions{})
	var buckets int
	_ = s.db.QueryRow(ctx, `SELECT count(*) FROM analytics.stream_buckets`).Scan(&buckets)
	b.Logf("seeded %d streams, %d minute buckets in %s", streams+1, buckets, time.Since(seedStart).Round(time.Second))

	b.ResetTimer()
	var ov, st, yr, sd, sy time.Duration
	for range b.N {
		ov, st, yr, sd, sy = measure()
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(ov), "overview-ms")
	b.ReportMetric(ms(st), "stream-ms")
	b.ReportMetric(ms(yr), "stream-1y-ms")
	b.ReportMetric(ms(sy), "series-1y-ms")
	b.ReportMetric(ms(ov)/ms(ov0), "overview-x-empty")
	b.ReportMetric(ms(st)/ms(st0), "stream-x-empty")
	fmt.Printf("dashboard-bench: %d streams, %d minute buckets: overview ready in %.0f ms (%.1fx the empty database's %.0f ms); "+
		"stream page (year stream, last day) in %.0f ms (%.1fx %.0f ms); its year chart in %.0f ms (%.1fx %.0f ms); "+
		"series API: a day of minutes %.0f ms (%.1fx %.0f ms), a year by day %.0f ms (%.1fx %.0f ms)\n",
		streams+1, buckets, ms(ov), ms(ov)/ms(ov0), ms(ov0), ms(st), ms(st)/ms(st0), ms(st0), ms(yr), ms(yr)/ms(yr0), ms(yr0),
		ms(sd), ms(sd)/ms(sd0), ms(sd0), ms(sy), ms(sy)/ms(sy0), ms(sy0))
}

// loadTime opens url in a new tab and returns the time from the
// navigation's start until the page says its data is drawn.
func (b *browser) loadTime(url, page string) time.Duration {
	b.t.Helper()
	tab, closeTab := chromedp.NewContext(b.ctx)
	defer closeTab()
	// The tab's first run opens it and has no timeout: the tab lives as
	// long as the context of that run.
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("opening %s: %v", url, err)
	}
	inTab := &browser{t: b.t, ctx: tab}
	inTab.waitJS(page+" ready", `document.body.dataset.ready === `+jsString(page), 30*time.Second)
	var ms float64
	inTab.eval(`performance.now()`, &ms)
	return time.Duration(ms * float64(time.Millisecond))
}

// timeGet times one GET that must answer 200.
func timeGet(t testing.TB, url string) time.Duration {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return time.Since(start)
}

func medianOf(n int, f func() time.Duration) time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = f()
	}
	slices.Sort(ds)
	return ds[n/2]
}
