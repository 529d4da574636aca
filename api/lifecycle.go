package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/purge"
	"github.com/sightline-video/sightline/internal/schedule"
)

// CaptureCanceling answers POST /captures/{id}/cancel.
type CaptureCanceling struct {
	CaptureID string `json:"capture_id"`
	Status    string `json:"status"` // "canceling"
	StatusURL string `json:"status_url"`
}

// cancelCapture asks the capture's workflow to stop. The workflow keeps
// what was captured: it stores the frames read so far, detects every stored
// chunk, rolls up and records the capture as canceled.
func (s *Server) cancelCapture(c echo.Context) error {
	id, err := idParam(c, "id", "capture")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	wf, _, err := s.describeWorkflow(ctx, id)
	if err != nil {
		return err
	}
	if wf.Status != "RUNNING" {
		return &apiError{Status: http.StatusConflict, Msg: "capture " + id + " is not running (" + captureStatusOf(wf.Status) + ")"}
	}
	tctx, cancel := context.WithTimeout(ctx, s.rpcTimeout)
	defer cancel()
	if err := s.temporal.CancelWorkflow(tctx, id, wf.RunID); err != nil {
		return temporalError("canceling capture "+id, err)
	}
	s.log.Info("capture cancel requested", "capture", id)
	url := "/api/v1/captures/" + id
	return c.JSON(http.StatusAccepted, CaptureCanceling{CaptureID: id, Status: "canceling", StatusURL: url})
}

// Deleted answers DELETE /captures/{id} and DELETE /streams/{id}.
type Deleted struct {
	Removed   purge.Removed `json:"removed"`
	Schedules []string      `json:"schedules,omitempty"` // schedules of a deleted stream
	// RollupWorkflowID is the full rollup started so the rankings stop
	// counting what was removed.
	RollupWorkflowID string `json:"rollup_workflow_id"`
}

// deleteCapture removes a capture that is not running: its chunks in the
// object store, its rows, and (through a full rollup) its counts.
func (s *Server) deleteCapture(c echo.Context) error {
	id, err := idParam(c, "id", "capture")
	if err != nil {
		return err
	}
	if s.store == nil {
		return errNoStore
	}
	ctx := c.Request().Context()
	removed, err := purge.Capture(ctx, s.db, s.store, id)
	if err != nil {
		return purgeError("capture "+id, err)
	}
	s.log.Info("capture deleted", "capture", id, "frames", removed.Frames, "chunks", removed.Chunks)
	return s.afterDelete(c, Deleted{Removed: removed})
}

// deleteStream removes a stream, its schedules and all its captures (none
// may be running), and its rows in the rollups.
func (s *Server) deleteStream(c echo.Context) error {
	if s.store == nil {
		return errNoStore
	}
	ctx := c.Request().Context()
	st, err := s.loadStream(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	// Refuse before touching the schedules, so a refused delete changes nothing.
	if err := purge.CheckIdle(ctx, s.db, st.ID); err != nil {
		return purgeError("stream "+st.ID, err)
	}
	var out Deleted
	tctx, cancel := context.WithTimeout(ctx, s.rpcTimeout)
	defer cancel()
	// Schedules first, so none starts a capture while the rows go.
	all, err := schedule.List(tctx, s.temporal)
	if err != nil {
		return temporalError("listing schedules of stream "+st.ID, err)
	}
	for _, sc := range all {
		if sc.StreamID != st.ID {
			continue
		}
		if err := schedule.Delete(tctx, s.temporal, sc.ID); err != nil && !errors.Is(err, schedule.ErrNotFound) {
			return temporalError("deleting schedule "+sc.ID, err)
		}
		out.Schedules = append(out.Schedules, sc.ID)
	}
	if out.Removed, err = purge.Stream(ctx, s.db, s.store, st.ID); err != nil {
		return purgeError("stream "+st.ID, err)
	}
	s.log.Info("stream deleted", "stream", st.ID, "captures", out.Removed.Captures, "schedules", len(out.Schedules))
	return s.afterDelete(c, out)
}

// afterDelete starts a full rollup, so the rankings equal a rebuild without
// the removed rows, and answers.
func (s *Server) afterDelete(c echo.Context, out Deleted) error {
	tctx, cancel := context.WithTimeout(c.Request().Context(), s.rpcTimeout)
	defer cancel()
	run, err := s.temporal.ExecuteWorkflow(tctx, client.StartWorkflowOptions{TaskQueue: s.taskQueue,
		RetryPolicy: contract.RollupRetry}, contract.RollupWorkflow, contract.RollupInput{FullRefresh: true})
	if err != nil {
		// The rows are gone either way; the next rollup catches up.
		s.log.Warn("starting the rollup after a delete failed", "error", err)
	} else {
		out.RollupWorkflowID = run.GetID()
	}
	return c.JSON(http.StatusOK, out)
}

// RetentionStarted answers POST /retention/run.
type RetentionStarted struct {
	WorkflowID string             `json:"workflow_id"`
	RunID      string             `json:"run_id"`
	Policy     contract.Retention `json:"policy"`
}

// runRetention enforces the global retention policy now, as the retention
// schedule does every SIGHTLINE_RETENTION_EVERY.
func (s *Server) runRetention(c echo.Context) error {
	if err := decodeJSON(c, &struct{}{}, true); err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(c.Request().Context(), s.rpcTimeout)
	defer cancel()
	run, err := s.temporal.ExecuteWorkflow(tctx, client.StartWorkflowOptions{TaskQueue: s.taskQueue},
		contract.RetentionWorkflow, s.retention)
	if err != nil {
		return temporalError("starting the retention workflow", err)
	}
	return c.JSON(http.StatusAccepted, RetentionStarted{WorkflowID: run.GetID(), RunID: run.GetRunID(), Policy: s.retention})
}

// errNoStore answers what needs the object store when the server has none.
var errNoStore = &apiError{Status: http.StatusServiceUnavailable, Msg: "object store not configured"}

// purgeError maps purge's errors onto statuses.
func purgeError(what string, err error) error {
	switch {
	case errors.Is(err, purge.ErrNotFound):
		return notFound("%s not found", what)
	case errors.Is(err, purge.ErrRunning):
		return &apiError{Status: http.StatusConflict, Msg: err.Error() + ": cancel it first (POST /api/v1/captures/{id}/cancel)"}
	default:
		return &apiError{Status: http.StatusInternalServerError, Msg: "deleting " + what + " failed", Err: err}
	}
}
