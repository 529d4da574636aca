package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/sightline-video/sightline/internal/contract"
)

// Event is one pipeline event, as GET /events streams it (see
// sql/migrations/00006_events.sql for where each type comes from).
type Event struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// Type is capture.started, capture.progress, capture.finished,
	// chunk.detected, or rollup.finished (no stream or capture; sent
	// whatever the filters, as every view's counts may have changed).
	Type      string          `json:"type"`
	StreamID  string          `json:"stream_id"`
	CaptureID string          `json:"capture_id"`
	Data      json.RawMessage `json:"data"`
}

// Timing of the event stream: how often it looks for new events, and how
// often it sends a comment so proxies keep an idle stream open.
var (
	eventsPoll      = 500 * time.Millisecond
	eventsKeepAlive = 15 * time.Second
)

// eventsBatch bounds the events read (and the backlog sent) at a time.
const eventsBatch = 500

// streamEvents answers GET /events as Server-Sent Events: each event's id is
// its database id, so a client that reconnects with Last-Event-ID (or
// ?last_event_id=) gets exactly what it missed. Without either it starts
// with new events only. ?stream= and ?capture= filter (rollup.finished
// always passes).
func (s *Server) streamEvents(c echo.Context) error {
	var streamID, captureID string
	if v := c.QueryParam("stream"); v != "" {
		if err := contract.ValidateStreamID(v); err != nil {
			return badRequest("invalid stream %q", shortened(v))
		}
		streamID = v
	}
	if v := c.QueryParam("capture"); v != "" {
		if !validID(v) {
			return badRequest("invalid capture %q", shortened(v))
		}
		captureID = v
	}
	last := int64(-1)
	for _, raw := range []string{c.Request().Header.Get("Last-Event-ID"), c.QueryParam("last_event_id")} {
		if raw == "" {
			continue
		}
		v, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || v < 0 {
			return badRequest("invalid last event id %q: must be a non-negative integer", shortened(raw))
		}
		last = v
	}
	ctx := c.Request().Context()
	if last < 0 {
		if err := s.db.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&last); err != nil {
			return dbError("reading the last event id", err)
		}
	}

	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set(echo.HeaderCacheControl, "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	c.Response().WriteHeader(http.StatusOK)
	// The retry hint and the position, flushed so the client knows it is
	// connected. The id (with no data: no event) is where a client that has
	// seen no event yet resumes after a drop, so it misses nothing.
	if _, err := fmt.Fprintf(c.Response(), "retry: 2000\nid: %d\n\n", last); err != nil {
		return nil
	}
	c.Response().Flush()

	poll := time.NewTicker(eventsPoll)
	defer poll.Stop()
	idle := time.Now()
	for {
		evs, err := s.eventsAfter(ctx, last, streamID, captureID)
		if err != nil {
			// The stream is open: say why it ends; the client reconnects.
			s.log.Warn("event stream: reading events failed", "error", err)
			fmt.Fprintf(c.Response(), "event: error\ndata: %q\n\n", "reading events failed; reconnect")
			c.Response().Flush()
			return nil
		}
		for _, ev := range evs {
			data, _ := json.Marshal(ev)
			if _, err := fmt.Fprintf(c.Response(), "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, data); err != nil {
				return nil
			}
			last = ev.ID
		}
		if len(evs) > 0 {
			c.Response().Flush()
			idle = time.Now()
		} else if time.Since(idle) >= eventsKeepAlive {
			if _, err := fmt.Fprint(c.Response(), ": keep-alive\n\n"); err != nil {
				return nil
			}
			c.Response().Flush()
			idle = time.Now()
		}
		if len(evs) == eventsBatch {
			continue // more are waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.stopping:
			return nil
		case <-poll.C:
		}
	}
}

// eventsAfter reads the events after id, oldest first, matching the filters
// (empty: any).
func (s *Server) eventsAfter(ctx context.Context, id int64, streamID, captureID string) ([]Event, error) {
	rows, err := s.db.Query(ctx, `SELECT id, at, type, stream_id, capture_id, data FROM events
  WHERE id > $1 AND (type = 'rollup.finished' OR (($2 = '' OR stream_id = $2) AND ($3 = '' OR capture_id = $3)))
  ORDER BY id LIMIT $4`, id, streamID, captureID, eventsBatch)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		err := r.Scan(&e.ID, &e.At, &e.Type, &e.StreamID, &e.CaptureID, &e.Data)
		return e, err
	})
}
