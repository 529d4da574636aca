package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
)

// The analytics.* tables are built by the rollup. The casts keep the API's
// types stable whichever integer or numeric types the rollup chooses.

// StreamRank is one stream in the ranking of streams for an object.
type StreamRank struct {
	Object      string  `json:"object"`
	StreamID    string  `json:"stream_id"`
	StreamName  string  `json:"stream_name"`
	Frames      int64   `json:"frames"`
	Objects     int64   `json:"objects"`
	AvgPerFrame float64 `json:"avg_per_frame"`
	MaxPerFrame int64   `json:"max_per_frame"`
	// UniqueObjects is how many of it appeared, each counted once (tracks).
	UniqueObjects int64 `json:"unique_objects"`
	Rank          int64 `json:"rank"`
}

// ObjectRank is one object in the ranking of objects within a stream.
type ObjectRank struct {
	Object        string  `json:"object"`
	Frames        int64   `json:"frames"`
	Objects       int64   `json:"objects"`
	AvgPerFrame   float64 `json:"avg_per_frame"`
	MaxPerFrame   int64   `json:"max_per_frame"`
	UniqueObjects int64   `json:"unique_objects"`
	Rank          int64   `json:"rank"`
}

// CountPoint is one bucket of a stream's object-count time series.
type CountPoint struct {
	Object      string    `json:"object"`
	Bucket      time.Time `json:"bucket"`
	Frames      int64     `json:"frames"`
	Objects     int64     `json:"objects"`
	AvgPerFrame float64   `json:"avg_per_frame"`
	MaxPerFrame int64     `json:"max_per_frame"`
}

// queryAnalytics runs a query on an analytics table and collects its rows.
// A table (or the schema) that does not exist yet means no rollup has run:
// that is an empty result, not an error.
func queryAnalytics[T any](s *Server, ctx context.Context, what, sql string, args ...any) ([]T, error) {
	rows, err := s.db.Query(ctx, sql, args...)
	var out []T
	if err == nil {
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[T])
	}
	switch {
	case err == nil:
	case noRollupYet(err):
		out = nil
	default:
		return nil, dbError(what, err)
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}

// noRollupYet reports an error for a missing analytics table or schema.
func noRollupYet(err error) bool {
	return pgCode(err) == "42P01" || pgCode(err) == "3F000" // undefined_table, invalid_schema_name
}

// objectParam reads ?object=; required says whether it may be absent.
func objectParam(c echo.Context, required bool) (*string, error) {
	obj := strings.TrimSpace(c.QueryParam("object"))
	switch {
	case obj == "" && required:
		return nil, badRequest("query parameter object is required, for example ?object=person")
	case obj == "":
		return nil, nil
	case len(obj) > 200:
		return nil, badRequest("invalid object: longer than 200 characters")
	}
	return &obj, nil
}

// rankStreams ranks the streams by the average count per frame of an object.
func (s *Server) rankStreams(c echo.Context) error {
	obj, err := objectParam(c, true)
	if err != nil {
		return err
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	by := c.QueryParam("by")
	switch by {
	case "", "per_frame", "unique":
	default:
		return badRequest("invalid by %q: per_frame (objects per analysed frame, the default) or unique (objects counted once each)", shortened(by))
	}
	ctx := c.Request().Context()
	out, err := queryAnalytics[StreamRank](s, ctx, "ranking streams for object "+*obj, `
SELECT object::text, stream_id::text, coalesce(stream_name::text, stream_id::text), frames::bigint,
       objects::bigint, avg_per_frame::float8, max_per_frame::bigint, 0::bigint, rank::bigint
FROM analytics.object_stream_ranking
WHERE object = $1
ORDER BY rank, stream_id`, *obj)
	if err != nil {
		return err
	}
	unique, err := s.uniqueObjects(ctx, "WHERE object = $1", *obj)
	if err != nil {
		return err
	}
	for i := range out {
		out[i].UniqueObjects = unique[out[i].StreamID+"\x01"+out[i].Object]
	}
	if by == "unique" {
		slices.SortStableFunc(out, func(a, b StreamRank) int {
			return cmp.Or(cmp.Compare(b.UniqueObjects, a.UniqueObjects), strings.Compare(a.StreamID, b.StreamID))
		})
		for i := range out {
			out[i].Rank = int64(i + 1)
		}
	}
	out = out[:min(len(out), limit)]
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// streamObjects ranks the objects seen in a stream by average count per frame.
func (s *Server) streamObjects(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	st, err := s.loadStream(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	out, err := s.objectRanking(ctx, st.ID, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// objectRanking is a stream's objects by rank, at most limit of them.
func (s *Server) objectRanking(ctx context.Context, streamID string, limit int) ([]ObjectRank, error) {
	out, err := queryAnalytics[ObjectRank](s, ctx, "ranking objects of stream "+streamID, `
SELECT object::text, frames::bigint, objects::bigint, avg_per_frame::float8, max_per_frame::bigint, 0::bigint, rank::bigint
FROM analytics.stream_object_ranking
WHERE stream_id = $1
ORDER BY rank, object
LIMIT $2`, streamID, limit)
	if err != nil {
		return nil, err
	}
	unique, err := s.uniqueObjects(ctx, "WHERE stream_id = $1", streamID)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].UniqueObjects = unique[streamID+"\x01"+out[i].Object]
	}
	return out, nil
}

// uniqueObjects sums analytics.unique_objects per stream and object (keyed
// "stream\x01object") for the rows where selects. Read apart from the
// rankings, so that rankings built before tracking existed still answer.
func (s *Server) uniqueObjects(ctx context.Context, where string, args ...any) (map[string]int64, error) {
	type row struct {
		Key    string
		Tracks int64
	}
	rows, err := queryAnalytics[row](s, ctx, "counting unique objects", `
SELECT stream_id || chr(1) || object, sum(tracks)::bigint FROM analytics.unique_objects `+where+` GROUP BY stream_id, object`, args...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Key] = r.Tracks
	}
	return out, nil
}

// rangeParams reads the optional ?from= (inclusive) and ?to= (exclusive).
func rangeParams(c echo.Context) (from, to *time.Time, err error) {
	if from, err = timeParam(c, "from"); err != nil {
		return nil, nil, err
	}
	if to, err = timeParam(c, "to"); err != nil {
		return nil, nil, err
	}
	if from != nil && to != nil && to.Before(*from) {
		return nil, nil, badRequest("invalid time range: to (%s) is before from (%s)",
			to.Format(time.RFC3339Nano), from.Format(time.RFC3339Nano))
	}
	return from, to, nil
}

// timeParam reads an optional RFC 3339 timestamp from the query.
func timeParam(c echo.Context, name string) (*time.Time, error) {
	raw := c.QueryParam(name)
	if raw == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return nil, badRequest("invalid %s %q: want an RFC 3339 timestamp such as 2024-05-01T12:00:00Z", name, raw)
	}
	return &t, nil
}

// streamCounts is a stream's object-count time series, ordered by bucket;
// from is inclusive, to exclusive.
func (s *Server) streamCounts(c echo.Context) error {
	q, err := s.parseBucketQuery(c, "")
	if err != nil {
		return err
	}
	out, err := queryAnalytics[CountPoint](s, c.Request().Context(), "reading object counts of stream "+q.streamID, `
SELECT object::text, bucket, frames::bigint, objects::bigint, avg_per_frame::float8, max_per_frame::bigint
FROM analytics.object_counts
WHERE stream_id = $1
  AND ($2::text IS NULL OR object = $2)
  AND ($3::timestamptz IS NULL OR bucket >= $3)
  AND ($4::timestamptz IS NULL OR bucket < $4)
ORDER BY bucket, object`, q.streamID, q.object, q.from, q.to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// ObjectOverall is one object in the ranking of objects across all streams.
type ObjectOverall struct {
	Object      string  `json:"object"`
	Streams     int64   `json:"streams"` // streams it was seen in
	Frames      int64   `json:"frames"`  // frames analysed in all streams
	Objects     int64   `json:"objects"`
	AvgPerFrame float64 `json:"avg_per_frame"`
	MaxPerFrame int64   `json:"max_per_frame"`
	Rank        int64   `json:"rank"`
}

// StreamOverall is one stream in the ranking of streams by all objects
// per frame.
type StreamOverall struct {
	StreamID             string   `json:"stream_id"`
	StreamName           string   `json:"stream_name"`
	Frames               int64    `json:"frames"`
	Objects              int64    `json:"objects"`
	AvgPerFrame          float64  `json:"avg_per_frame"`
	DistinctObjects      int64    `json:"distinct_objects"`
	TopObject            *string  `json:"top_object"`
	TopObjectAvgPerFrame *float64 `json:"top_object_avg_per_frame"`
	Rank                 int64    `json:"rank"`
}

// Series is one object of a stream over a time range, ready for a chart:
// the arrays are aligned on Buckets.
type Series struct {
	Object string `json:"object"`
	Rank   int64  `json:"rank"` // in the stream's object ranking; 0 if never seen
	// BucketSeconds is the width of each point: the bucket asked for, or
	// wider where the range had more buckets than points.
	BucketSeconds int64       `json:"bucket_seconds"`
	Buckets       []time.Time `json:"buckets"`
	Frames        []int64     `json:"frames"`
	Objects       []int64     `json:"objects"`
	AvgPerFrame   []float64   `json:"avg_per_frame"`
	MaxPerFrame   []int64     `json:"max_per_frame"`
}

// rankObjects ranks the objects across every stream.
func (s *Server) rankObjects(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	out, err := queryAnalytics[ObjectOverall](s, c.Request().Context(), "ranking objects across streams", `
SELECT object::text, streams::bigint, frames::bigint, objects::bigint, avg_per_frame::float8, max_per_frame::bigint, rank::bigint
FROM analytics.object_ranking
ORDER BY rank, object
LIMIT $1`, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// rankStreamsOverall ranks the streams by all objects per analysed frame.
func (s *Server) rankStreamsOverall(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	out, err := queryAnalytics[StreamOverall](s, c.Request().Context(), "ranking streams overall", `
SELECT stream_id::text, coalesce(stream_name::text, stream_id::text), frames::bigint, objects::bigint, avg_per_frame::float8,
       distinct_objects::bigint, top_object::text, top_object_avg_per_frame::float8, rank::bigint
FROM analytics.stream_ranking
ORDER BY rank, stream_id
LIMIT $1`, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// The series' bucket widths, and the bounds of its other parameters.
var seriesBuckets = map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}

const (
	defaultSeriesRange  = 24 * time.Hour
	defaultSeriesTop    = 5
	maxSeriesTop        = 20
	defaultSeriesPoints = 1440 // a day of minutes, as is
	maxSeriesPoints     = 5000
)

// seriesQuery is a parsed GET /streams/{id}/series request.
type seriesQuery struct {
	width    time.Duration // the bucket asked for, before downsampling
	from, to *time.Time
	objects  []string // empty: the top ones
	top      int
	points   int
}

func parseSeriesQuery(c echo.Context) (seriesQuery, error) {
	q := seriesQuery{width: time.Minute, top: defaultSeriesTop, points: defaultSeriesPoints}
	if b := c.QueryParam("bucket"); b != "" {
		w, ok := seriesBuckets[b]
		if !ok {
			return q, badRequest("invalid bucket %q: want minute, hour or day", shortened(b))
		}
		q.width = w
	}
	var err error
	if q.from, err = timeParam(c, "from"); err != nil {
		return q, err
	}
	if q.to, err = timeParam(c, "to"); err != nil {
		return q, err
	}
	if q.from != nil && q.to != nil && !q.to.After(*q.from) {
		return q, badRequest("invalid time range: to (%s) is not after from (%s)",
			q.to.Format(time.RFC3339Nano), q.from.Format(time.RFC3339Nano))
	}
	if raw := c.QueryParam("objects"); raw != "" {
		for _, o := range strings.Split(raw, ",") {
			if o = strings.TrimSpace(o); o == "" || len(o) > 200 {
				return q, badRequest("invalid objects %q: want a comma-separated list of object names", shortened(raw))
			}
			q.objects = append(q.objects, o)
		}
		if len(q.objects) > maxSeriesTop {
			return q, badRequest("invalid objects: at most %d", maxSeriesTop)
		}
	}
	if q.top, err = intParam(c, "top", defaultSeriesTop, 1, maxSeriesTop); err != nil {
		return q, err
	}
	if q.points, err = intParam(c, "points", defaultSeriesPoints, 2, maxSeriesPoints); err != nil {
		return q, err
	}
	return q, nil
}

// downsample widens the bucket to a whole multiple of width so that
// [from, to) holds at most points buckets. A width over an hour (a day) is
// rounded up to whole hours (days): readable steps, and ones the hourly
// rollup tables serve.
func downsample(width time.Duration, from, to time.Time, points int) time.Duration {
	n := int64((to.Sub(from) + width - 1) / width)
	if n <= int64(points) {
		return width
	}
	w := width * time.Duration((n+int64(points)-1)/int64(points))
	for _, unit := range []time.Duration{24 * time.Hour, time.Hour} {
		if w > unit {
			return (w + unit - 1) / unit * unit
		}
	}
	return w
}

// streamSeries is a stream's top objects (or the objects asked for) as
// chart-ready time series over a time range, from the rollup's minute
// buckets: each point is a bucket with analysed frames. Long ranges are
// downsampled here, by merging buckets, so a client gets at most ?points
// points per series whatever the range.
func (s *Server) streamSeries(c echo.Context) error {
	q, err := parseSeriesQuery(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	st, err := s.loadStream(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	to := q.to
	if to == nil {
		// Default: the range ends with the stream's newest data, so a stream
		// that captured last week still shows its last day.
		var newest *time.Time
		err := s.db.QueryRow(ctx, `SELECT max(bucket) FROM analytics.stream_buckets WHERE stream_id = $1`, st.ID).Scan(&newest)
		if err != nil && !noRollupYet(err) {
			return dbError("reading the newest bucket of stream "+st.ID, err)
		}
		if newest == nil {
			return c.JSON(http.StatusOK, []Series{})
		}
		end := newest.Truncate(q.width).Add(q.width)
		to = &end
	}
	from := q.from
	if from == nil {
		start := to.Add(-defaultSeriesRange)
		if q.width > time.Hour {
			start = to.Add(-30 * q.width) // a day bucket: a month
		}
		from = &start
	}
	width := downsample(q.width, *from, *to, q.points)

	objects := q.objects
	if len(objects) == 0 {
		top, err := s.objectRanking(ctx, st.ID, q.top)
		if err != nil {
			return err
		}
		for _, o := range top {
			objects = append(objects, o.Object)
		}
	}
	if len(objects) == 0 {
		return c.JSON(http.StatusOK, []Series{})
	}
	// Whole hours read the hourly tables: a year is 8,760 rows, not 525,600.
	buckets, counts := "analytics.stream_buckets", "analytics.object_counts"
	if width%time.Hour == 0 {
		buckets, counts = "analytics.stream_buckets_hourly", "analytics.object_counts_hourly"
	}
	// Buckets are merged with date_bin from the epoch, so the same width
	// always cuts time at the same instants.
	out, err := queryAnalytics[Series](s, ctx, "reading the time series of stream "+st.ID, `
WITH bins AS (
    SELECT date_bin($2::interval, bucket, timestamptz 'epoch') AS bin, sum(frames)::bigint AS frames
    FROM `+buckets+`
    WHERE stream_id = $1 AND bucket >= $3 AND bucket < $4
    GROUP BY 1
), counts AS (
    SELECT object, date_bin($2::interval, bucket, timestamptz 'epoch') AS bin,
           sum(objects)::bigint AS objects, max(max_per_frame)::bigint AS max_per_frame
    FROM `+counts+`
    WHERE stream_id = $1 AND object = ANY($5) AND bucket >= $3 AND bucket < $4
    GROUP BY 1, 2
), wanted AS (
    SELECT object, k FROM unnest($5::text[]) WITH ORDINALITY AS w(object, k)
)
SELECT w.object, coalesce(r.rank, 0)::bigint, $6::bigint,
       array_agg(b.bin ORDER BY b.bin), array_agg(b.frames ORDER BY b.bin),
       array_agg(coalesce(c.objects, 0) ORDER BY b.bin),
       array_agg(coalesce(c.objects, 0)::float8 / b.frames ORDER BY b.bin),
       array_agg(coalesce(c.max_per_frame, 0) ORDER BY b.bin)
FROM wanted w
CROSS JOIN bins b
LEFT JOIN counts c ON c.object = w.object AND c.bin = b.bin
LEFT JOIN analytics.stream_object_ranking r ON r.stream_id = $1 AND r.object = w.object
GROUP BY w.object, w.k, r.rank
ORDER BY w.k`, st.ID, width, *from, *to, objects, int64(width/time.Second))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
