package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
)

// Track is one object followed through a capture.
type Track struct {
	CaptureID  string    `json:"capture_id"`
	TrackID    int64     `json:"track_id"`
	Object     string    `json:"object"`
	FirstFrame int       `json:"first_frame"`
	LastFrame  int       `json:"last_frame"`
	FirstTS    time.Time `json:"first_ts"`
	LastTS     time.Time `json:"last_ts"`
	FramesSeen int       `json:"frames_seen"`
	Zones      []string  `json:"zones"`
}

// UniquePoint is how many objects of a kind appeared in a bucket.
type UniquePoint struct {
	Object string    `json:"object"`
	Bucket time.Time `json:"bucket"`
	Tracks int64     `json:"tracks"`
}

// CrossingPoint is how many objects crossed a line one way in a bucket.
type CrossingPoint struct {
	Line      string    `json:"line"`
	Direction string    `json:"direction"`
	Object    string    `json:"object"`
	Bucket    time.Time `json:"bucket"`
	Crossings int64     `json:"crossings"`
}

// ZonePoint is a zone's occupancy and the visits that ended in a bucket.
type ZonePoint struct {
	Zone         string    `json:"zone"`
	Object       string    `json:"object"`
	Bucket       time.Time `json:"bucket"`
	AvgOccupancy float64   `json:"avg_occupancy"` // over every analysed frame of the bucket
	MaxOccupancy int64     `json:"max_occupancy"`
	Visits       int64     `json:"visits"` // visits that ended in the bucket
	AvgDwellS    float64   `json:"avg_dwell_s"`
	MaxDwellS    float64   `json:"max_dwell_s"`
}

// bucketQuery is what the per-bucket endpoints of a stream take: the
// stream, an optional object, an optional line or zone name, and a range.
type bucketQuery struct {
	streamID string
	object   *string
	name     *string // of the line or zone, when the endpoint takes one
	from, to *time.Time
}

// parseBucketQuery reads ?object=, ?<name>= (when name is not empty),
// ?from= and ?to=, and checks the stream exists.
func (s *Server) parseBucketQuery(c echo.Context, name string) (bucketQuery, error) {
	var q bucketQuery
	var err error
	if q.object, err = objectParam(c, false); err != nil {
		return q, err
	}
	if name != "" {
		if q.name, err = nameParam(c, name); err != nil {
			return q, err
		}
	}
	if q.from, q.to, err = rangeParams(c); err != nil {
		return q, err
	}
	st, err := s.loadStream(c.Request().Context(), c.Param("id"))
	q.streamID = st.ID
	return q, err
}

// nameParam reads an optional line or zone name from the query.
func nameParam(c echo.Context, name string) (*string, error) {
	v := strings.TrimSpace(c.QueryParam(name))
	switch {
	case v == "":
		return nil, nil
	case len(v) > 64:
		return nil, badRequest("invalid %s: longer than 64 characters", name)
	}
	return &v, nil
}

// listTracks lists a stream's tracks, newest first.
func (s *Server) listTracks(c echo.Context) error {
	obj, err := objectParam(c, false)
	if err != nil {
		return err
	}
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	capture := strings.TrimSpace(c.QueryParam("capture"))
	ctx := c.Request().Context()
	st, err := s.loadStream(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	// tracks is a table the pipeline writes, not a rollup's: it always exists.
	rows, err := s.db.Query(ctx, `
SELECT capture_id, track_id, class_name, first_frame, last_frame, first_ts, last_ts, frames_seen, zones
FROM tracks
WHERE stream_id = $1 AND ($2 = '' OR capture_id = $2) AND ($3::text IS NULL OR class_name = $3)
ORDER BY first_ts DESC, capture_id, track_id
LIMIT $4`, st.ID, capture, obj, limit)
	if err != nil {
		return dbError("listing tracks of stream "+st.ID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Track])
	if err != nil {
		return dbError("listing tracks of stream "+st.ID, err)
	}
	if out == nil {
		out = []Track{}
	}
	return c.JSON(http.StatusOK, out)
}

// streamUnique is how many objects appeared per bucket.
func (s *Server) streamUnique(c echo.Context) error {
	q, err := s.parseBucketQuery(c, "")
	if err != nil {
		return err
	}
	out, err := queryAnalytics[UniquePoint](s, c.Request().Context(), "reading unique objects of stream "+q.streamID, `
SELECT object::text, bucket, tracks::bigint
FROM analytics.unique_objects
WHERE stream_id = $1 AND ($2::text IS NULL OR object = $2)
  AND ($3::timestamptz IS NULL OR bucket >= $3) AND ($4::timestamptz IS NULL OR bucket < $4)
ORDER BY bucket, object`, q.streamID, q.object, q.from, q.to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// streamCrossings is how many objects crossed each line, per direction and bucket.
func (s *Server) streamCrossings(c echo.Context) error {
	q, err := s.parseBucketQuery(c, "line")
	if err != nil {
		return err
	}
	out, err := queryAnalytics[CrossingPoint](s, c.Request().Context(), "reading line crossings of stream "+q.streamID, `
SELECT line::text, direction::text, object::text, bucket, crossings::bigint
FROM analytics.line_crossings
WHERE stream_id = $1 AND ($2::text IS NULL OR object = $2) AND ($3::text IS NULL OR line = $3)
  AND ($4::timestamptz IS NULL OR bucket >= $4) AND ($5::timestamptz IS NULL OR bucket < $5)
ORDER BY bucket, line, direction, object`, q.streamID, q.object, q.name, q.from, q.to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// streamZones is each zone's occupancy and dwell per bucket.
func (s *Server) streamZones(c echo.Context) error {
	q, err := s.parseBucketQuery(c, "zone")
	if err != nil {
		return err
	}
	out, err := queryAnalytics[ZonePoint](s, c.Request().Context(), "reading zones of stream "+q.streamID, `
SELECT zone::text, object::text, bucket, coalesce(o.avg_occupancy, 0)::float8, coalesce(o.max_occupancy, 0)::bigint,
       coalesce(d.visits, 0)::bigint, coalesce(d.avg_dwell_s, 0)::float8, coalesce(d.max_dwell_s, 0)::float8
FROM (SELECT * FROM analytics.zone_occupancy_buckets WHERE stream_id = $1) o
FULL JOIN (SELECT * FROM analytics.zone_dwell WHERE stream_id = $1) d USING (stream_id, zone, object, bucket)
WHERE ($2::text IS NULL OR object = $2) AND ($3::text IS NULL OR zone = $3)
  AND ($4::timestamptz IS NULL OR bucket >= $4) AND ($5::timestamptz IS NULL OR bucket < $5)
ORDER BY bucket, zone, object`, q.streamID, q.object, q.name, q.from, q.to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
