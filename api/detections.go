package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/sightline-video/sightline/internal/detector"
)

// AnalysedFrame is an analysed frame with its detections, for clients that
// draw the boxes themselves: GET /captures/{id}/frames/{index}/detections
// and GET /streams/{id}/frames/latest.
type AnalysedFrame struct {
	CaptureID  string    `json:"capture_id"`
	StreamID   string    `json:"stream_id"`
	FrameIndex int       `json:"frame_index"`
	TS         time.Time `json:"ts"`     // the frame's time
	PTSms      int64     `json:"pts_ms"` // its time from the capture's start
	Width      int       `json:"width"`  // the image's size, in the boxes' pixels
	Height     int       `json:"height"`
	Model      string    `json:"model"`
	// ImageURL serves the stored JPEG (404 or 410 once it is gone).
	ImageURL string `json:"image_url"`
	// Detections pass the request's min_score (default 0: all stored) and
	// classes, most confident first.
	Detections []detector.Detection `json:"detections"`
}

const analysedFrameSelect = `SELECT capture_id, stream_id, frame_index, ts, pts_ms, width, height, model FROM frames`

// getFrameDetections answers a frame's detections as JSON.
func (s *Server) getFrameDetections(c echo.Context) error {
	id, index, err := frameParams(c)
	if err != nil {
		return err
	}
	q, err := parseDetectionsQuery(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	f, err := s.analysedFrame(ctx, q, analysedFrameSelect+` WHERE capture_id = $1 AND frame_index = $2`, id, index)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("frame %d of capture %q has not been analysed (not captured, not detected yet, or between samples)", index, id)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, f)
}

// getLatestFrame answers the stream's newest analysed frame with its
// detections.
func (s *Server) getLatestFrame(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := s.loadStream(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	q, err := parseDetectionsQuery(c)
	if err != nil {
		return err
	}
	f, err := s.analysedFrame(ctx, q, analysedFrameSelect+` WHERE stream_id = $1
  ORDER BY ts DESC, capture_id DESC, frame_index DESC LIMIT 1`, st.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("stream %q has no analysed frame yet", st.ID)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, f)
}

// parseDetectionsQuery reads min_score and classes; min_score defaults to 0,
// so a client filtering on its own gets every stored detection.
func parseDetectionsQuery(c echo.Context) (frameQuery, error) {
	if c.QueryParam("annotated") != "" {
		return frameQuery{}, badRequest("annotated applies to the frame's image, not to its detections")
	}
	q, err := parseFrameQuery(c)
	if c.QueryParam("min_score") == "" {
		q.minScore = 0
	}
	return q, err
}

// analysedFrame loads the frame row the query selects (pgx.ErrNoRows if
// none) and its detections.
func (s *Server) analysedFrame(ctx context.Context, q frameQuery, sql string, args ...any) (AnalysedFrame, error) {
	var f AnalysedFrame
	err := s.db.QueryRow(ctx, sql, args...).Scan(&f.CaptureID, &f.StreamID, &f.FrameIndex, &f.TS, &f.PTSms,
		&f.Width, &f.Height, &f.Model)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, err
	}
	if err != nil {
		return f, dbError("loading an analysed frame", err)
	}
	f.ImageURL = "/api/v1/captures/" + f.CaptureID + "/frames/" + strconv.Itoa(f.FrameIndex)
	if f.Detections, _, err = s.frameDetections(ctx, f.CaptureID, f.FrameIndex, q); err != nil {
		return f, err
	}
	if f.Detections == nil {
		f.Detections = []detector.Detection{}
	}
	return f, nil
}

// FrameSummary is one analysed frame of a capture, for stepping through them.
type FrameSummary struct {
	FrameIndex int       `json:"frame_index"`
	TS         time.Time `json:"ts"`
	Detections int       `json:"detections"` // stored, whatever their score
}

// listFrames lists a capture's analysed frames by index, from after ?after=
// (exclusive), at most ?limit=: with sampling (every_ms) the indexes are the
// source's and have gaps.
func (s *Server) listFrames(c echo.Context) error {
	id, err := idParam(c, "id", "capture")
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", 10000, 1, 100000)
	if err != nil {
		return err
	}
	after, err := intParam(c, "after", -1, -1, math.MaxInt32)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var exists bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM captures WHERE id = $1)`, id).Scan(&exists); err != nil {
		return dbError("loading capture "+id, err)
	}
	if !exists {
		return notFound("capture %q not found", id)
	}
	rows, err := s.db.Query(ctx, `SELECT frame_index, ts, detection_count FROM frames
  WHERE capture_id = $1 AND frame_index > $2 ORDER BY frame_index LIMIT $3`, id, after, limit)
	if err != nil {
		return dbError("listing the frames of capture "+id, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[FrameSummary])
	if err != nil {
		return dbError("listing the frames of capture "+id, err)
	}
	if out == nil {
		out = []FrameSummary{}
	}
	return c.JSON(http.StatusOK, out)
}
