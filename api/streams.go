package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/labstack/echo/v4"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/source"
	"github.com/sightline-video/sightline/internal/tracking"
)

// Stream is a registered video source.
type Stream struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Source   string          `json:"source"`
	Metadata json.RawMessage `json:"metadata"`
	Detect   detector.Config `json:"detect"`
	// Tracking is the tracker's settings and the lines and zones its
	// captures count by default.
	Tracking tracking.Config `json:"tracking"`
	// Mode is what its captures do when detection falls behind: complete,
	// realtime, or "" for realtime on live sources and complete on files.
	Mode string `json:"mode"`
	// Retention overrides the global retention policy for this stream.
	Retention   contract.StreamRetention `json:"retention"`
	CreatedAt   time.Time                `json:"created_at"`
	UpdatedAt   time.Time                `json:"updated_at"`
	LastCapture *CaptureSummary          `json:"last_capture,omitempty"`
}

// CaptureSummary is the newest capture of a stream.
type CaptureSummary struct {
	ID             string     `json:"id"`
	Status         string     `json:"status"`
	StartedAt      time.Time  `json:"started_at"`
	FinishedAt     *time.Time `json:"finished_at"`
	FramesCaptured int        `json:"frames_captured"`
}

// streamSelect lists streams with their newest capture, if any.
const streamSelect = `
SELECT s.id, s.name, s.source, s.metadata, s.detect, s.tracking, s.mode, s.retain_chunks_days, s.retain_rows_days, s.created_at, s.updated_at,
       c.id, c.status, c.started_at, c.finished_at, c.frames_captured
FROM streams s
LEFT JOIN LATERAL (
    SELECT id, status, started_at, finished_at, frames_captured
    FROM captures WHERE stream_id = s.id
    ORDER BY started_at DESC, id DESC LIMIT 1
) c ON true`

func scanStream(row pgx.Row) (Stream, error) {
	var (
		st       Stream
		meta     []byte
		capID    *string
		capState *string
		started  *time.Time
		finished *time.Time
		frames   *int
	)
	if err := row.Scan(&st.ID, &st.Name, &st.Source, &meta, &st.Detect, &st.Tracking, &st.Mode, &st.Retention.ChunksDays, &st.Retention.RowsDays, &st.CreatedAt, &st.UpdatedAt,
		&capID, &capState, &started, &finished, &frames); err != nil {
		return st, err
	}
	st.Metadata = json.RawMessage(meta)
	if capID != nil {
		st.LastCapture = &CaptureSummary{ID: *capID, Status: *capState, StartedAt: *started,
			FinishedAt: finished, FramesCaptured: *frames}
	}
	return st, nil
}

func (s *Server) listStreams(c echo.Context) error {
	rows, err := s.db.Query(c.Request().Context(), streamSelect+` ORDER BY s.id`)
	if err != nil {
		return dbError("listing streams", err)
	}
	out := []Stream{}
	for rows.Next() {
		st, err := scanStream(rows)
		if err != nil {
			rows.Close()
			return dbError("reading streams", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return dbError("listing streams", err)
	}
	return c.JSON(http.StatusOK, out)
}

// loadStream returns the stream or a 404 error.
func (s *Server) loadStream(ctx context.Context, id string) (Stream, error) {
	if contract.ValidateStreamID(id) != nil {
		// No stream can have such an id; answering 404 spares a query.
		return Stream{}, notFound("stream %q not found", id)
	}
	st, err := scanStream(s.db.QueryRow(ctx, streamSelect+` WHERE s.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return st, notFound("stream %q not found", id)
	}
	if err != nil {
		return st, dbError("loading stream "+id, err)
	}
	return st, nil
}

func (s *Server) getStream(c echo.Context) error {
	st, err := s.loadStream(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// StreamRequest registers or updates a stream.
type StreamRequest struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`     // default: the id
	Source   string          `json:"source"`   // file path or URL the capture reads
	Metadata json.RawMessage `json:"metadata"` // any JSON object; default {}
	// Detect is the model and class filter its captures use by default.
	Detect detector.Config `json:"detect"`
	// Tracking is the tracker's settings and the lines and zones its
	// captures count by default.
	Tracking tracking.Config `json:"tracking"`
	// Mode: complete, realtime, or "" (default) to choose by source.
	Mode string `json:"mode"`
	// Retention overrides the global retention policy: {"chunks_days": 1,
	// "rows_days": 30}; a missing or null field keeps the global default.
	Retention contract.StreamRetention `json:"retention"`
}

func (r *StreamRequest) validate() error {
	if r.ID == "" {
		return badRequest("id is required")
	}
	if contract.ValidateStreamID(r.ID) != nil {
		return badRequest("invalid id %q: use 1 to 63 lower-case letters, digits, '_' or '-', starting with a letter or digit", r.ID)
	}
	if err := r.Retention.Validate(); err != nil {
		return badRequest("%v", err)
	}
	if err := r.Tracking.Validate(); err != nil {
		return badRequest("tracking: %v", err)
	}
	if err := contract.ValidateMode(r.Mode); err != nil {
		return badRequest("%v", err)
	}
	r.Source = strings.TrimSpace(r.Source)
	if r.Source == "" {
		return badRequest("source is required")
	}
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" {
		r.Name = r.ID
	}
	meta := bytes.TrimSpace(r.Metadata)
	switch {
	case len(meta) == 0 || bytes.Equal(meta, []byte("null")):
		r.Metadata = json.RawMessage(`{}`)
	case meta[0] != '{':
		return badRequest("metadata must be a JSON object")
	}
	return nil
}

// putStream creates a stream (201) or updates an existing one (200).
func (s *Server) putStream(c echo.Context) error {
	var req StreamRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	if err := s.models.Check(req.Detect); err != nil {
		return badRequest("detect: %v", err)
	}
	ctx := c.Request().Context()
	if err := s.checkSource(ctx, req.Source); err != nil {
		return err
	}
	// xmax is 0 only on a row this statement inserted, which tells create from update.
	var inserted bool
	err := s.db.QueryRow(ctx, `
INSERT INTO streams (id, name, source, metadata, detect, tracking, mode, retain_chunks_days, retain_rows_days)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)
ON CONFLICT (id) DO UPDATE
SET name = EXCLUDED.name, source = EXCLUDED.source, metadata = EXCLUDED.metadata,
    detect = EXCLUDED.detect, tracking = EXCLUDED.tracking, mode = EXCLUDED.mode,
    retain_chunks_days = EXCLUDED.retain_chunks_days, retain_rows_days = EXCLUDED.retain_rows_days, updated_at = now()
RETURNING xmax = 0`, req.ID, req.Name, req.Source, string(req.Metadata), req.Detect, req.Tracking, req.Mode,
		req.Retention.ChunksDays, req.Retention.RowsDays).Scan(&inserted)
	if err != nil {
		return dbError("saving stream "+req.ID, err)
	}
	st, err := s.loadStream(ctx, req.ID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if inserted {
		status = http.StatusCreated
		c.Response().Header().Set(echo.HeaderLocation, "/api/v1/streams/"+st.ID)
	}
	return c.JSON(status, st)
}

// checkSource rejects sources that cannot be read or that the deployment's
// source policy forbids (for example loopback and private addresses when the
// API is exposed), so a bad stream fails at registration, not mid-capture.
func (s *Server) checkSource(ctx context.Context, raw string) error {
	spec, err := source.Parse(raw)
	if err != nil {
		return badRequest("invalid source: %v", err)
	}
	if err := s.sourcePolicy.Check(ctx, spec, nil); err != nil {
		if errors.Is(err, source.ErrNotAllowed) {
			return echo.NewHTTPError(http.StatusForbidden, err.Error())
		}
		return badRequest("source %s: %v", spec, err)
	}
	return nil
}

// Model is a detection model streams and captures can name.
type Model struct {
	Name    string   `json:"name"`
	Default bool     `json:"default"`
	Classes []string `json:"classes"`
}

// listModels lists the registered detection models with their classes.
func (s *Server) listModels(c echo.Context) error {
	out := []Model{}
	for _, name := range s.models.Names() {
		classes, err := s.models.Classes(name)
		if err != nil {
			return fmt.Errorf("listing the classes of model %s: %w", name, err)
		}
		out = append(out, Model{Name: name, Default: name == s.models.Default(), Classes: classes})
	}
	return c.JSON(http.StatusOK, out)
}
