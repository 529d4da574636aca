// Package activities holds the Temporal activities of Sightline: bookkeeping
// of captures, capturing frames into chunks, detecting objects in a chunk and
// rolling the results up. Every activity is idempotent: its rows and objects
// have deterministic keys, so a retry rewrites instead of adding.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	dbtlike "github.com/sightline-video/sightline/dbt_like"
	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/detector"
	"github.com/sightline-video/sightline/internal/metrics"
	"github.com/sightline-video/sightline/internal/objstore"
	"github.com/sightline-video/sightline/internal/source"
	"github.com/sightline-video/sightline/internal/tracking"
)

// Activities carries the dependencies the activities share. Register a
// pointer to it with a worker; fields that a worker does not need (for
// example Detectors on a capture-only worker) may be nil.
type Activities struct {
	DB        *pgxpool.Pool
	Store     *objstore.Store
	Detectors *detector.Models
	Rollup    *dbtlike.Project
	// Sources resolves capture sources (default: any source is allowed).
	Sources source.Resolver
	// SourceOptions bound how long opening and reading a source may block.
	SourceOptions source.Options
	// Temporal, when set, lets the capture announce chunks to its workflow.
	Temporal client.Client
	// Metrics, when set, counts what the activities do for Prometheus.
	Metrics *metrics.Metrics
	Log     *slog.Logger
}

func (a *Activities) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// BeginCaptureInput names the capture to record, with its settings.
type BeginCaptureInput struct {
	CaptureID string    `json:"capture_id"`
	StreamID  string    `json:"stream_id"`
	Source    string    `json:"source"` // empty: the stream's registered source
	StartedAt time.Time `json:"started_at"`
	// Settings' Detect, when not nil, overrides the stream's detection settings.
	contract.Settings
}

// BeginCaptureResult tells the workflow which source to read and how to
// detect: the capture's own settings, else the stream's.
type BeginCaptureResult struct {
	Source   string           `json:"source"`
	Detect   *detector.Config `json:"detect,omitempty"`
	Tracking *tracking.Config `json:"tracking,omitempty"`
	Mode     string           `json:"mode,omitempty"` // empty: by source
}

// ErrUnknownStream is returned when a capture names a stream that is not
// registered and gives no source to register it with.
var ErrUnknownStream = errors.New("unknown stream")

// BeginCapture records the capture (status running). A stream that is not yet
// registered is registered with the given source, so a capture can be started
// from the Temporal UI with nothing but a stream id and a source.
func (a *Activities) BeginCapture(ctx context.Context, in BeginCaptureInput) (BeginCaptureResult, error) {
	var res BeginCaptureResult
	err := pgx.BeginFunc(ctx, a.DB, func(tx pgx.Tx) error {
		if in.Source != "" {
			if _, err := tx.Exec(ctx, `INSERT INTO streams (id, name, source) VALUES ($1, $1, $2)
				ON CONFLICT (id) DO NOTHING`, in.StreamID, in.Source); err != nil {
				return fmt.Errorf("register stream %q: %w", in.StreamID, err)
			}
		}
		var registered, mode string
		var detect detector.Config
		var track tracking.Config
		err := tx.QueryRow(ctx, `SELECT source, detect, tracking, mode FROM streams WHERE id = $1`, in.StreamID).Scan(&registered, &detect, &track, &mode)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("stream %q: %w: register it or pass a source", in.StreamID, ErrUnknownStream)
		}
		if err != nil {
			return fmt.Errorf("look up stream %q: %w", in.StreamID, err)
		}
		res.Source = in.Source
		if res.Source == "" {
			res.Source = registered
		}
		res.Detect = in.Detect
		if res.Detect == nil && (detect.Model != "" || detect.Filter != nil) {
			res.Detect = &detect
		}
		res.Tracking = in.Tracking
		if res.Tracking == nil && !reflect.ValueOf(track).IsZero() {
			res.Tracking = &track
		}
		res.Mode = in.Mode
		if res.Mode == "" {
			res.Mode = mode
		}
		_, err = tx.Exec(ctx, `INSERT INTO captures (id, stream_id, source, every_ms, chunk_frames, started_at, tracking)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (id) DO UPDATE SET status = 'running', finished_at = NULL, error = NULL, tracking = EXCLUDED.tracking`,
			in.CaptureID, in.StreamID, res.Source, in.EveryMS, in.ChunkFrames, in.StartedAt, res.Tracking)
		if err != nil {
			return fmt.Errorf("record capture %q: %w", in.CaptureID, err)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("begin capture %s: %w", in.CaptureID, err)
	}
	return res, nil
}

// FinishCaptureInput is the outcome of a capture.
type FinishCaptureInput struct {
	CaptureID string `json:"capture_id"`
	Status    string `json:"status"` // completed, failed or canceled
	Frames    int    `json:"frames"`
	Error     string `json:"error,omitempty"`
}

// FinishCapture records how a capture ended.
func (a *Activities) FinishCapture(ctx context.Context, in FinishCaptureInput) error {
	_, err := a.DB.Exec(ctx, `UPDATE captures SET status = $2, frames_captured = $3, error = NULLIF($4, ''),
		finished_at = now() WHERE id = $1`, in.CaptureID, in.Status, in.Frames, in.Error)
	if err != nil {
		return fmt.Errorf("finish capture %s: %w", in.CaptureID, err)
	}
	return nil
}

// RollupInput selects which models to run; empty runs them all.
type RollupInput struct {
	Select []string `json:"select,omitempty"`
}

// RollupResult summarises a rollup run.
type RollupResult struct {
	Models []string `json:"models"`
}

// RunRollup rebuilds the analytics models.
func (a *Activities) RunRollup(ctx context.Context, in RollupInput) (RollupResult, error) {
	res, err := a.Rollup.Run(ctx, a.DB, dbtlike.RunOptions{Select: in.Select})
	if err != nil {
		return RollupResult{}, fmt.Errorf("rollup: %w", err)
	}
	var out RollupResult
	for _, m := range res.Models {
		out.Models = append(out.Models, m.Name)
	}
	return out, nil
}
