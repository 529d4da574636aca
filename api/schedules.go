package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sightline-video/sightline/internal/schedule"
)

// scheduleRoutes registers the recurring-capture routes (package schedule).
func (s *Server) scheduleRoutes(g *echo.Group) {
	g.GET("/schedules", s.listSchedules)
	g.POST("/schedules", s.createSchedule)
	g.GET("/schedules/:id", s.getSchedule)
	g.DELETE("/schedules/:id", s.deleteSchedule)
	g.POST("/schedules/:id/pause", s.pauseSchedule)
	g.POST("/schedules/:id/unpause", s.unpauseSchedule)
	g.POST("/schedules/:id/trigger", s.triggerSchedule)
}

// ScheduleNote is the optional body of the pause and unpause routes.
type ScheduleNote struct {
	Note string `json:"note"`
}

// ScheduleTriggered answers POST /schedules/{id}/trigger.
type ScheduleTriggered struct {
	ScheduleID string `json:"schedule_id"`
	StatusURL  string `json:"status_url"`
}

// scheduleError maps the schedule package's errors onto statuses; the rest
// are Temporal's and classified as such.
func scheduleError(what, id string, err error) error {
	switch {
	case errors.Is(err, schedule.ErrInvalid):
		return badRequest("%v", err)
	case errors.Is(err, schedule.ErrNotFound):
		return notFound("schedule %q not found", id)
	case errors.Is(err, schedule.ErrExists):
		return &apiError{Status: http.StatusConflict, Msg: fmt.Sprintf("schedule %q already exists", id), Err: err}
	default:
		return temporalError(what+" schedule "+id, err)
	}
}

func (s *Server) createSchedule(c echo.Context) error {
	var spec schedule.Spec
	if err := decodeJSON(c, &spec, false); err != nil {
		return err
	}
	// Validate before the stream lookup so a bad body is a 400, not a 404.
	if err := spec.Validate(); err != nil {
		return badRequest("%v", err)
	}
	if spec.Capture.Detect != nil {
		if err := s.models.Check(*spec.Capture.Detect); err != nil {
			return badRequest("capture.detect: %v", err)
		}
	}
	ctx := c.Request().Context()
	if _, err := s.loadStream(ctx, spec.StreamID); err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, s.rpcTimeout)
	defer cancel()
	spec, err := schedule.Create(tctx, s.temporal, schedule.Queues{Main: s.taskQueue, Detect: s.detectTaskQueue, GPUDetect: s.gpuDetectQueue}, spec)
	if err != nil {
		return scheduleError("creating", spec.ID, err)
	}
	s.log.Info("schedule created", "schedule", spec.ID, "stream", spec.StreamID, "every", spec.Every, "cron", spec.Cron)
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/schedules/"+spec.ID)
	d, err := schedule.Describe(tctx, s.temporal, spec.ID)
	if err != nil {
		// It exists; answer with what was asked for rather than failing.
		s.log.Warn("describing a new schedule failed", "schedule", spec.ID, "error", err)
		return c.JSON(http.StatusCreated, schedule.Schedule{Spec: spec})
	}
	return c.JSON(http.StatusCreated, d)
}

func (s *Server) listSchedules(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.rpcTimeout)
	defer cancel()
	list, err := schedule.List(ctx, s.temporal)
	if err != nil {
		return temporalError("listing schedules", err)
	}
	return c.JSON(http.StatusOK, list)
}

func (s *Server) getSchedule(c echo.Context) error {
	id, err := idParam(c, "id", "schedule")
	if err != nil {
		return err
	}
	return s.describeSchedule(c, id, http.StatusOK)
}

func (s *Server) describeSchedule(c echo.Context, id string, status int) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.rpcTimeout)
	defer cancel()
	d, err := schedule.Describe(ctx, s.temporal, id)
	if err != nil {
		return scheduleError("describing", id, err)
	}
	return c.JSON(status, d)
}

func (s *Server) pauseSchedule(c echo.Context) error {
	return s.setPaused(c, true)
}

func (s *Server) unpauseSchedule(c echo.Context) error {
	return s.setPaused(c, false)
}

// setPaused pauses or unpauses the schedule and answers its new description.
func (s *Server) setPaused(c echo.Context, pause bool) error {
	id, err := idParam(c, "id", "schedule")
	if err != nil {
		return err
	}
	var req ScheduleNote
	if err := decodeJSON(c, &req, true); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.rpcTimeout)
	defer cancel()
	op, what, done := schedule.Unpause, "unpausing", "schedule unpaused"
	if pause {
		op, what, done = schedule.Pause, "pausing", "schedule paused"
	}
	if err := op(ctx, s.temporal, id, req.Note); err != nil {
		return scheduleError(what, id, err)
	}
	s.log.Info(done, "schedule", id, "note", req.Note)
	return s.describeSchedule(c, id, http.StatusOK)
}

func (s *Server) triggerSchedule(c echo.Context) error {
	id, err := idParam(c, "id", "schedule")
	if err != nil {
		return err
	}
	// No body is expected; one with fields is a mistake worth reporting.
	if err := decodeJSON(c, &struct{}{}, true); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.rpcTimeout)
	defer cancel()
	if err := schedule.Trigger(ctx, s.temporal, id); err != nil {
		return scheduleError("triggering", id, err)
	}
	s.log.Info("schedule triggered", "schedule", id)
	url := "/api/v1/schedules/" + id
	c.Response().Header().Set(echo.HeaderLocation, url)
	// 202: Temporal starts the capture asynchronously, and skips it if one
	// of this schedule is still running.
	return c.JSON(http.StatusAccepted, ScheduleTriggered{ScheduleID: id, StatusURL: url})
}

func (s *Server) deleteSchedule(c echo.Context) error {
	id, err := idParam(c, "id", "schedule")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.rpcTimeout)
	defer cancel()
	if err := schedule.Delete(ctx, s.temporal, id); err != nil {
		return scheduleError("deleting", id, err)
	}
	s.log.Info("schedule deleted", "schedule", id)
	return c.NoContent(http.StatusNoContent)
}
