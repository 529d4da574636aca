package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/sightline-video/sightline/internal/contract"
	"github.com/sightline-video/sightline/internal/purge"
)

// Batch sizes of ApplyRetention: it heartbeats between batches.
const (
	expireChunksBatch   = 500
	expireCapturesBatch = 50
)

// ApplyRetention removes what the retention policy (the stream's own, else
// in) says has expired: the objects of detected chunks older than the
// chunk retention, then whole finished captures that ended before the row
// retention. Running captures are never touched, so it is safe to run at
// any time, and idempotent: a retry goes on where the last attempt stopped.
func (a *Activities) ApplyRetention(ctx context.Context, in contract.Retention) (contract.RetentionResult, error) {
	var res contract.RetentionResult
	now := time.Now()
	for {
		n, err := purge.ExpireChunks(ctx, a.DB, a.Store, in, now, expireChunksBatch)
		if err != nil {
			return res, fmt.Errorf("retention: %w", err)
		}
		res.ChunksExpired += n
		activity.RecordHeartbeat(ctx, res)
		if n < expireChunksBatch {
			break
		}
	}
	for {
		ids, err := purge.ExpiredCaptures(ctx, a.DB, in, now, expireCapturesBatch)
		if err != nil {
			return res, fmt.Errorf("retention: %w", err)
		}
		for _, id := range ids {
			r, err := purge.Capture(ctx, a.DB, a.Store, id)
			if errors.Is(err, purge.ErrNotFound) {
				continue // removed meanwhile
			}
			if err != nil {
				return res, fmt.Errorf("retention: %w", err)
			}
			res.CapturesDeleted += r.Captures
			res.FramesDeleted += r.Frames
			activity.RecordHeartbeat(ctx, res)
		}
		if len(ids) < expireCapturesBatch {
			break
		}
	}
	if _, err := purge.ExpireEvents(ctx, a.DB, now); err != nil {
		return res, fmt.Errorf("retention: %w", err)
	}
	a.log().Info("retention applied", "chunks_expired", res.ChunksExpired, "captures_deleted", res.CapturesDeleted,
		"frames_deleted", res.FramesDeleted)
	return res, nil
}
