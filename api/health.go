package api

import (
	"context"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"
)

// Health is the /healthz answer: "ok" or what went wrong, per service.
type Health struct {
	Status   string `json:"status"` // ok or unavailable
	Postgres string `json:"postgres"`
	Temporal string `json:"temporal"`
}

func (s *Server) health(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.probeTimeout)
	defer cancel()
	h := Health{Status: "ok", Postgres: "ok", Temporal: "ok"}
	// Probe both at once so a hung service costs one timeout, not two.
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if s.db == nil {
			h.Postgres = "error: not configured"
		} else if err := s.db.Ping(ctx); err != nil {
			h.Postgres = "error: " + err.Error()
		}
	}()
	go func() {
		defer wg.Done()
		if s.temporal == nil {
			h.Temporal = "error: not configured"
		} else if _, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			h.Temporal = "error: " + err.Error()
		}
	}()
	wg.Wait()
	if h.Postgres != "ok" || h.Temporal != "ok" {
		h.Status = "unavailable"
		return c.JSON(http.StatusServiceUnavailable, h)
	}
	return c.JSON(http.StatusOK, h)
}
