package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/sightline-video/sightline/internal/contract"
)

// CaptureStarted answers POST /streams/{id}/captures.
type CaptureStarted struct {
	CaptureID  string `json:"capture_id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	StatusURL  string `json:"status_url"`
}

func (s *Server) startCapture(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := s.loadStream(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	// The body is contract.Settings, the same fields as every other way of
	// starting a capture; an empty body means the defaults.
	var req contract.Settings
	if err := decodeJSON(c, &req, true); err != nil {
		return err
	}
	if err := s.validateSettings(req); err != nil {
		return err
	}
	// Fill the defaults here so the input shown in the Temporal UI is explicit.
	in := contract.CaptureInput{StreamID: st.ID, Source: st.Source,
		Settings: req.WithQueues(s.detectTaskQueue, s.gpuDetectQueue).WithDefaults()}
	id := contract.NewCaptureID(st.ID, time.Now())
	tctx, cancel := context.WithTimeout(ctx, s.rpcTimeout)
	defer cancel()
	run, err := s.temporal.ExecuteWorkflow(tctx, client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: s.taskQueue,
		// The memo lets GET /captures/{id} name the stream before the
		// workflow has written the capture row.
		Memo: map[string]any{"stream_id": st.ID},
	}, contract.CaptureWorkflow, in)
	if err != nil {
		return temporalError("starting capture workflow "+id, err)
	}
	s.log.Info("capture started", "stream", st.ID, "capture", id, "run", run.GetRunID(), "task_queue", s.taskQueue)
	url := "/api/v1/captures/" + id
	c.Response().Header().Set(echo.HeaderLocation, url)
	return c.JSON(http.StatusAccepted, CaptureStarted{CaptureID: id, WorkflowID: id, RunID: run.GetRunID(), StatusURL: url})
}

// validateSettings checks capture settings, including that their model and
// classes exist, as a 400 naming the field.
func (s *Server) validateSettings(set contract.Settings) error {
	if err := set.Validate(); err != nil {
		return badRequest("%v", err)
	}
	if set.Detect != nil {
		if err := s.models.Check(*set.Detect); err != nil {
			return badRequest("detect: %v", err)
		}
	}
	return nil
}

// Capture is a row of the captures table.
type Capture struct {
	ID             string     `json:"id"`
	StreamID       string     `json:"stream_id"`
	Status         string     `json:"status"`
	Source         string     `json:"source"`
	EveryMS        int        `json:"every_ms"`
	ChunkFrames    int        `json:"chunk_frames"`
	StartedAt      time.Time  `json:"started_at"`
	FinishedAt     *time.Time `json:"finished_at"`
	FramesCaptured int        `json:"frames_captured"`
	Error          *string    `json:"error"`
	Gaps           int        `json:"gaps"` // stretches of a live source with no frames
}

const captureSelect = `SELECT id, stream_id, status, source, every_ms, chunk_frames, started_at,
       finished_at, frames_captured, error,
       (SELECT count(*) FROM capture_gaps g WHERE g.capture_id = captures.id)::int FROM captures`

func scanCapture(row pgx.Row) (Capture, error) {
	var r Capture
	err := row.Scan(&r.ID, &r.StreamID, &r.Status, &r.Source, &r.EveryMS, &r.ChunkFrames, &r.StartedAt,
		&r.FinishedAt, &r.FramesCaptured, &r.Error, &r.Gaps)
	return r, err
}

// Gap is a stretch of a live capture with no frames: the source dropped
// and the capture reconnected (ended_at set), or the capture ended first.
type Gap struct {
	GapIndex  int        `json:"gap_index"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
	Reason    string     `json:"reason"`
}

// captureStatuses are the statuses a capture row can have.
var captureStatuses = map[string]bool{"running": true, "completed": true, "failed": true, "canceled": true}

// listAllCaptures lists captures across streams, newest first, optionally
// of one status or stream.
func (s *Server) listAllCaptures(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	if status != "" && !captureStatuses[status] {
		return badRequest("invalid status %q: want running, completed, failed or canceled", shortened(status))
	}
	stream := c.QueryParam("stream")
	if stream != "" && contract.ValidateStreamID(stream) != nil {
		return badRequest("invalid stream %q", shortened(stream))
	}
	return s.queryCaptures(c, "listing captures", captureSelect+`
WHERE ($1 = '' OR status = $1) AND ($2 = '' OR stream_id = $2)
ORDER BY started_at DESC, id DESC LIMIT $3`, status, stream, limit)
}

// queryCaptures answers the capture rows a query selects.
func (s *Server) queryCaptures(c echo.Context, what, sql string, args ...any) error {
	rows, err := s.db.Query(c.Request().Context(), sql, args...)
	if err != nil {
		return dbError(what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Capture, error) { return scanCapture(r) })
	if err != nil {
		return dbError(what, err)
	}
	if out == nil {
		out = []Capture{}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) listCaptures(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	st, err := s.loadStream(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	return s.queryCaptures(c, "listing captures of stream "+st.ID,
		captureSelect+` WHERE stream_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2`, st.ID, limit)
}

// CaptureStatus answers GET /captures/{id}: what the database has recorded
// merged with what Temporal knows about the workflow.
type CaptureStatus struct {
	CaptureID string `json:"capture_id"`
	StreamID  string `json:"stream_id,omitempty"`
	// Status is the capture row's status (running, completed, failed,
	// canceled); "pending" while the workflow has not recorded the row yet.
	// A row still "running" whose workflow has closed (say, terminated)
	// reports the workflow's outcome instead.
	Status         string     `json:"status"`
	Recorded       bool       `json:"recorded"` // a captures row exists
	Source         string     `json:"source,omitempty"`
	EveryMS        *int       `json:"every_ms,omitempty"`
	ChunkFrames    *int       `json:"chunk_frames,omitempty"`
	StartedAt      *time.Time `json:"started_at,omitempty"`
	FinishedAt     *time.Time `json:"finished_at"`
	FramesCaptured int        `json:"frames_captured"`
	Error          *string    `json:"error"`

	ChunksWritten  int64 `json:"chunks_written"`
	ChunksDetected int64 `json:"chunks_detected"`
	FramesAnalysed int64 `json:"frames_analysed"`
	// ChunksSkipped and FramesSkipped are what realtime mode left
	// undetected because detection fell behind; they are not empty frames.
	ChunksSkipped int64 `json:"chunks_skipped"`
	FramesSkipped int64 `json:"frames_skipped"`
	Detections    int64 `json:"detections"`
	Gaps          []Gap `json:"gaps"`

	Workflow      *WorkflowInfo             `json:"workflow,omitempty"`
	WorkflowError string                    `json:"workflow_error,omitempty"` // Temporal could not be asked
	Progress      *contract.CaptureProgress `json:"progress,omitempty"`       // live, while running
}

// WorkflowInfo is the capture workflow as Temporal describes it.
type WorkflowInfo struct {
	WorkflowID    string     `json:"workflow_id"`
	RunID         string     `json:"run_id"`
	Status        string     `json:"status"` // RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, TIMED_OUT, ...
	TaskQueue     string     `json:"task_queue"`
	StartTime     *time.Time `json:"start_time,omitempty"`
	CloseTime     *time.Time `json:"close_time,omitempty"`
	HistoryLength int64      `json:"history_length"`
}

func (s *Server) getCapture(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := idParam(c, "id", "capture")
	if err != nil {
		return err
	}
	out := CaptureStatus{CaptureID: id}

	row, err := scanCapture(s.db.QueryRow(ctx, captureSelect+` WHERE id = $1`, id))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return dbError("loading capture "+id, err)
	default:
		out.Recorded = true
		out.StreamID, out.Status, out.Source = row.StreamID, row.Status, row.Source
		out.EveryMS, out.ChunkFrames = &row.EveryMS, &row.ChunkFrames
		out.StartedAt, out.FinishedAt = &row.StartedAt, row.FinishedAt
		out.FramesCaptured, out.Error = row.FramesCaptured, row.Error
		err := s.db.QueryRow(ctx, `SELECT
  (SELECT count(*) FROM chunks WHERE capture_id = $1),
  (SELECT count(*) FROM chunks WHERE capture_id = $1 AND detected_at IS NOT NULL),
  (SELECT count(*) FROM frames WHERE capture_id = $1),
  (SELECT count(*) FROM detections WHERE capture_id = $1),
  (SELECT count(*) FROM chunks WHERE capture_id = $1 AND skipped_at IS NOT NULL),
  (SELECT coalesce(sum(frame_count), 0) FROM chunks WHERE capture_id = $1 AND skipped_at IS NOT NULL)`, id).
			Scan(&out.ChunksWritten, &out.ChunksDetected, &out.FramesAnalysed, &out.Detections, &out.ChunksSkipped, &out.FramesSkipped)
		if err != nil {
			return dbError("counting the progress of capture "+id, err)
		}
		rows, err := s.db.Query(ctx, `SELECT gap_index, started_at, ended_at, reason FROM capture_gaps
  WHERE capture_id = $1 ORDER BY gap_index`, id)
		if err == nil {
			out.Gaps, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Gap])
		}
		if err != nil {
			return dbError("listing the gaps of capture "+id, err)
		}
	}
	if out.Gaps == nil {
		out.Gaps = []Gap{}
	}

	wf, memoStream, err := s.describeWorkflow(ctx, id)
	switch {
	case err == nil:
	case statusOf(err) == http.StatusNotFound:
		if !out.Recorded {
			return notFound("capture %q not found", id)
		}
	case out.Recorded:
		// The database answered; say what Temporal did not instead of failing.
		out.WorkflowError = err.Error()
	default:
		return err
	}
	if wf != nil {
		out.Workflow = wf
		if out.StreamID == "" {
			out.StreamID = memoStream
		}
		if out.StartedAt == nil {
			out.StartedAt = wf.StartTime
		}
		if !out.Recorded || (out.Status == "running" && wf.Status != "RUNNING") {
			out.Status = captureStatusOf(wf.Status)
		}
		if wf.Status == "RUNNING" {
			out.Progress = s.queryProgress(ctx, id, wf.RunID)
		}
	}
	return c.JSON(http.StatusOK, out)
}

// describeWorkflow asks Temporal about the capture's workflow and returns it
// with the stream id from its memo.
func (s *Server) describeWorkflow(ctx context.Context, id string) (*WorkflowInfo, string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.rpcTimeout)
	defer cancel()
	resp, err := s.temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil, "", temporalError("describing workflow "+id, err)
	}
	info := resp.GetWorkflowExecutionInfo()
	wf := &WorkflowInfo{
		WorkflowID:    info.GetExecution().GetWorkflowId(),
		RunID:         info.GetExecution().GetRunId(),
		Status:        workflowStatusName(info.GetStatus()),
		TaskQueue:     info.GetTaskQueue(),
		HistoryLength: info.GetHistoryLength(),
	}
	if t := info.GetStartTime(); t != nil {
		v := t.AsTime()
		wf.StartTime = &v
	}
	if t := info.GetCloseTime(); t != nil {
		v := t.AsTime()
		wf.CloseTime = &v
	}
	var stream string
	if p := info.GetMemo().GetFields()["stream_id"]; p != nil {
		// A memo that does not decode only loses the stream name.
		_ = converter.GetDefaultDataConverter().FromPayload(p, &stream)
	}
	return wf, stream, nil
}

// queryProgress asks the running workflow for its live progress. It is
// best-effort: with no worker polling the query cannot be answered, so it
// gives up after a short timeout and returns nil.
func (s *Server) queryProgress(ctx context.Context, id, runID string) *contract.CaptureProgress {
	qctx, cancel := context.WithTimeout(ctx, s.probeTimeout)
	defer cancel()
	v, err := s.temporal.QueryWorkflow(qctx, id, runID, contract.ProgressQuery)
	if err != nil {
		s.log.Debug("progress query failed", "capture", id, "error", err)
		return nil
	}
	var p contract.CaptureProgress
	if err := v.Get(&p); err != nil {
		s.log.Warn("decoding progress query result failed", "capture", id, "error", err)
		return nil
	}
	return &p
}

// workflowStatusName turns WORKFLOW_EXECUTION_STATUS_RUNNING into RUNNING.
func workflowStatusName(st enumspb.WorkflowExecutionStatus) string {
	name, ok := enumspb.WorkflowExecutionStatus_name[int32(st)]
	if !ok {
		return fmt.Sprintf("UNKNOWN(%d)", int32(st))
	}
	return strings.TrimPrefix(name, "WORKFLOW_EXECUTION_STATUS_")
}

// captureStatusOf maps a workflow status onto the captures.status vocabulary.
func captureStatusOf(wf string) string {
	switch wf {
	case "RUNNING":
		return "pending"
	case "COMPLETED":
		return "completed"
	case "CANCELED":
		return "canceled"
	case "FAILED", "TERMINATED", "TIMED_OUT":
		return "failed"
	default:
		return strings.ToLower(wf)
	}
}
