package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/sightline-video/sightline/internal/annotate"
	"github.com/sightline-video/sightline/internal/chunk"
	"github.com/sightline-video/sightline/internal/counting"
	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/objstore"
	"github.com/sightline-video/sightline/internal/tracking"
)

// DefaultMinScore is the score below which annotated frames leave out a
// detection: the rollups' min_score default
// (dbt_like/models/frame_object_counts.sql), so the boxes drawn are the
// objects counted.
const DefaultMinScore = 0.3

// frameParams returns the capture id and frame index of a frame's path.
func frameParams(c echo.Context) (string, int, error) {
	id, err := idParam(c, "id", "capture")
	if err != nil {
		return "", 0, err
	}
	raw := c.Param("index")
	index, err := strconv.Atoi(raw)
	if err != nil || index < 0 || index > math.MaxInt32 {
		return "", 0, badRequest("invalid frame index %q: must be an integer from 0 to %d", raw, math.MaxInt32)
	}
	return id, index, nil
}

// frameQuery is the parsed query of GET /captures/{id}/frames/{index}.
type frameQuery struct {
	annotated bool
	minScore  float32
	classes   []string // nil: every class
}

func parseFrameQuery(c echo.Context) (frameQuery, error) {
	q := frameQuery{minScore: DefaultMinScore}
	if raw := c.QueryParam("annotated"); raw != "" {
		v, err := strconv.ParseBool(raw)
		if err != nil {
			return q, badRequest("invalid annotated %q: must be true or false", raw)
		}
		q.annotated = v
	}
	if raw := c.QueryParam("min_score"); raw != "" {
		v, err := strconv.ParseFloat(raw, 32)
		if err != nil || !(v >= 0 && v <= 1) { // NaN too
			return q, badRequest("invalid min_score %q: must be a number from 0 to 1", raw)
		}
		q.minScore = float32(v)
	}
	if raw, ok := c.QueryParams()["classes"]; ok {
		for _, part := range strings.Split(strings.Join(raw, ","), ",") {
			if name := strings.TrimSpace(part); name != "" {
				q.classes = append(q.classes, name)
			}
		}
		if len(q.classes) == 0 {
			return q, badRequest("invalid classes %q: give one or more class names separated by commas", strings.Join(raw, ","))
		}
	}
	return q, nil
}

// getFrame serves a stored frame as a JPEG: the bytes the capture stored, or,
// with annotated=true, the frame with its detections drawn on it.
func (s *Server) getFrame(c echo.Context) error {
	ctx := c.Request().Context()
	id, index, err := frameParams(c)
	if err != nil {
		return err
	}
	rawIndex := strconv.Itoa(index)
	q, err := parseFrameQuery(c)
	if err != nil {
		return err
	}
	if s.store == nil {
		return errNoStore
	}

	// Chunks hold consecutive runs of sampled frames, so the frame can only
	// be in the last chunk starting at or before it. The chunk row is
	// written as soon as the chunk is stored, before detection.
	var seq *int
	var key *string
	var expired *time.Time
	err = s.db.QueryRow(ctx, `SELECT k.seq, k.object_key, k.expired_at FROM captures c
  LEFT JOIN LATERAL (SELECT seq, object_key, expired_at FROM chunks
                     WHERE capture_id = c.id AND first_frame <= $2
                     ORDER BY first_frame DESC LIMIT 1) k ON true
  WHERE c.id = $1`, id, index).Scan(&seq, &key, &expired)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return notFound("capture %q not found", id)
	case err != nil:
		return dbError("finding the chunk of frame "+rawIndex+" of capture "+id, err)
	case seq == nil:
		return notFound("frame %d of capture %q is not stored (not captured yet, or before the first stored frame)", index, id)
	case expired != nil:
		// Its detections stay; the image went with the retention policy.
		return &apiError{Status: http.StatusGone, Msg: fmt.Sprintf("frame %d of capture %q expired on %s under the retention policy",
			index, id, expired.UTC().Format(time.RFC3339))}
	}

	sctx, cancel := context.WithTimeout(ctx, s.storeTimeout)
	defer cancel()
	data, err := s.store.Get(sctx, *key)
	if err != nil {
		if errors.Is(err, objstore.ErrNotFound) {
			s.log.Warn("chunk recorded but missing from the object store", "capture", id, "chunk", *seq, "key", *key)
			return notFound("frame %d of capture %q is not stored: its chunk %s is missing from the object store", index, id, *key)
		}
		return storeError("reading chunk "+*key, err)
	}
	frames, err := chunk.Decode(data)
	if err != nil {
		return &apiError{Status: http.StatusInternalServerError, Msg: "stored chunk " + *key + " is unreadable", Err: err}
	}
	var jpeg []byte
	for _, f := range frames {
		if f.Index == index {
			jpeg = f.JPEG
			break
		}
	}
	if jpeg == nil {
		return notFound("frame %d of capture %q is not stored (chunk %d holds frames %d to %d; frames between samples are not kept)",
			index, id, *seq, frames[0].Index, frames[len(frames)-1].Index)
	}
	if !q.annotated {
		return c.Blob(http.StatusOK, "image/jpeg", jpeg)
	}

	dets, analysed, err := s.frameDetections(ctx, id, index, q)
	if err != nil {
		return err
	}
	counts, err := s.frameCounts(ctx, id, index)
	if err != nil {
		return err
	}
	out, err := annotate.JPEG(jpeg, counts, dets, 0)
	if err != nil {
		return &apiError{Status: http.StatusInternalServerError, Msg: "annotating frame " + rawIndex + " of capture " + id, Err: err}
	}
	// Say what was drawn, so an unanalysed frame is not mistaken for an
	// empty one.
	h := c.Response().Header()
	h.Set("X-Sightline-Analysed", strconv.FormatBool(analysed))
	h.Set("X-Sightline-Detections", strconv.Itoa(len(dets)))
	return c.Blob(http.StatusOK, "image/jpeg", out)
}

// frameDetections loads the detections of a frame that pass q's filters,
// and whether the frame has been analysed at all.
func (s *Server) frameDetections(ctx context.Context, id string, index int, q frameQuery) ([]detector.Detection, bool, error) {
	what := "loading the detections of frame " + strconv.Itoa(index) + " of capture " + id
	var analysed bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM frames WHERE capture_id = $1 AND frame_index = $2)`,
		id, index).Scan(&analysed); err != nil {
		return nil, false, dbError(what, err)
	}
	rows, err := s.db.Query(ctx, `SELECT class_id, class_name, score, x1, y1, x2, y2, coalesce(track_id, 0) FROM detections
  WHERE capture_id = $1 AND frame_index = $2 AND score >= $3 AND ($4::text[] IS NULL OR class_name = ANY ($4))
  ORDER BY det_index`, id, index, q.minScore, q.classes)
	if err != nil {
		return nil, false, dbError(what, err)
	}
	dets, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (detector.Detection, error) {
		var d detector.Detection
		var classID int16
		err := r.Scan(&classID, &d.Class, &d.Score, &d.Box[0], &d.Box[1], &d.Box[2], &d.Box[3], &d.TrackID)
		d.ClassID = int(classID)
		return d, err
	})
	if err != nil {
		return nil, false, dbError(what, err)
	}
	return dets, analysed, nil
}

// frameCounts is what a capture counted up to a frame: its lines with the
// crossings so far, and its zones with how many were in each at the frame.
func (s *Server) frameCounts(ctx context.Context, id string, index int) (annotate.Counts, error) {
	what := "loading the counts of frame " + strconv.Itoa(index) + " of capture " + id
	var counts annotate.Counts
	var cfg *tracking.Config
	if err := s.db.QueryRow(ctx, `SELECT tracking FROM captures WHERE id = $1`, id).Scan(&cfg); err != nil {
		return counts, dbError(what, err)
	}
	if cfg == nil || len(cfg.Lines)+len(cfg.Zones) == 0 {
		return counts, nil
	}
	type count struct {
		Name, Direction string
		N               int
	}
	collect := func(sql string) ([]count, error) {
		rows, err := s.db.Query(ctx, sql, id, index)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowToStructByPos[count])
	}
	crossings, err := collect(`SELECT line, direction, count(*)::int FROM crossings
  WHERE capture_id = $1 AND frame_index <= $2 GROUP BY line, direction`)
	if err != nil {
		return counts, dbError(what, err)
	}
	occupancy, err := collect(`SELECT zone, '', sum(count)::int FROM zone_occupancy
  WHERE capture_id = $1 AND frame_index = $2 GROUP BY zone`)
	if err != nil {
		return counts, dbError(what, err)
	}
	counts.Lines = make([]annotate.LineCount, len(cfg.Lines))
	crossed := map[string]*annotate.LineCount{}
	for i, l := range cfg.Lines {
		counts.Lines[i].Line = l
		crossed[l.Name] = &counts.Lines[i]
	}
	for _, c := range crossings {
		if l := crossed[c.Name]; l != nil && c.Direction == counting.In {
			l.In = c.N
		} else if l != nil {
			l.Out = c.N
		}
	}
	inside := map[string]int{}
	for _, o := range occupancy {
		inside[o.Name] = o.N
	}
	for _, z := range cfg.Zones {
		counts.Zones = append(counts.Zones, annotate.ZoneCount{Zone: z, Inside: inside[z.Name]})
	}
	return counts, nil
}

// storeError classifies an object store error: unreachable → 503, an error
// answer from the store → 502, both naming the cause.
func storeError(what string, err error) error {
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return errCanceled
	case errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Msg: "object store unavailable while " + what, Err: err}
	default:
		return &apiError{Status: http.StatusBadGateway, Msg: "object store error while " + what, Err: err}
	}
}
