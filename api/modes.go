package api

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/client"

	"github.com/sightline-video/sightline/internal/contract"
)

// ModeRequest switches a stream's detection mode.
type ModeRequest struct {
	// Mode is "complete", "realtime", or "" to choose by source again.
	Mode string `json:"mode"`
}

// ModeSwitched says what took a new mode: the stream, its running
// StreamWorkflows (for the current window and the next ones) and its running
// captures started on their own.
type ModeSwitched struct {
	StreamID        string   `json:"stream_id"`
	Mode            string   `json:"mode"`
	StreamWorkflows []string `json:"stream_workflows"`
	Captures        []string `json:"captures"`
}

// putStreamMode sets a stream's detection mode: new captures take it from
// the stream, and running ones switch at once. A StreamWorkflow is found
// through its running window, whose parent it is, and told by an update so
// its later windows keep the mode even when its input named another.
func (s *Server) putStreamMode(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	if _, err := s.loadStream(ctx, id); err != nil {
		return err
	}
	var req ModeRequest
	if err := decodeJSON(c, &req, false); err != nil {
		return err
	}
	if err := contract.ValidateMode(req.Mode); err != nil {
		return badRequest("%v", err)
	}
	if _, err := s.db.Exec(ctx, `UPDATE streams SET mode = $2, updated_at = now() WHERE id = $1`, id, req.Mode); err != nil {
		return dbError("saving the mode of stream "+id, err)
	}
	rows, err := s.db.Query(ctx, `SELECT id FROM captures WHERE stream_id = $1 AND status = 'running' ORDER BY id`, id)
	if err != nil {
		return dbError("listing the running captures of stream "+id, err)
	}
	running, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return dbError("listing the running captures of stream "+id, err)
	}
	out := ModeSwitched{StreamID: id, Mode: req.Mode, StreamWorkflows: []string{}, Captures: []string{}}
	tctx, cancel := context.WithTimeout(ctx, s.rpcTimeout)
	defer cancel()
	for _, capture := range running {
		resp, err := s.temporal.DescribeWorkflowExecution(tctx, capture, "")
		if err != nil {
			// It ended since it was listed, or Temporal is away; the
			// stream's mode is saved either way.
			s.log.Warn("capture not told its new mode", "capture", capture, "error", err)
			continue
		}
		if parent := resp.GetWorkflowExecutionInfo().GetParentExecution(); parent != nil {
			h, err := s.temporal.UpdateWorkflow(tctx, client.UpdateWorkflowOptions{
				WorkflowID: parent.GetWorkflowId(), UpdateName: contract.ModeUpdate,
				Args: []any{req.Mode}, WaitForStage: client.WorkflowUpdateStageCompleted,
			})
			if err == nil {
				err = h.Get(tctx, nil)
			}
			if err == nil {
				out.StreamWorkflows = append(out.StreamWorkflows, parent.GetWorkflowId())
				continue
			}
			s.log.Warn("stream workflow not told its new mode; telling its window", "workflow", parent.GetWorkflowId(), "error", err)
		}
		if err := s.temporal.SignalWorkflow(tctx, capture, "", contract.ModeSignal, req.Mode); err != nil {
			s.log.Warn("capture not told its new mode", "capture", capture, "error", err)
			continue
		}
		out.Captures = append(out.Captures, capture)
	}
	return c.JSON(http.StatusOK, out)
}
