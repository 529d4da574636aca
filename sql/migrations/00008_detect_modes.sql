-- +goose Up
-- A stream's detection mode when detection falls behind: 'complete' keeps
-- every sampled frame and catches up, 'realtime' detects the newest chunks
-- first and skips those older than the capture's max lag. '' chooses by
-- source: realtime for live sources, complete for files.
ALTER TABLE streams ADD COLUMN mode text NOT NULL DEFAULT ''
    CHECK (mode IN ('', 'complete', 'realtime'));

-- skipped_at marks a chunk realtime mode left undetected: its frames have
-- no frame rows, so averages over analysed frames never count them as
-- empty, and they are reported as skipped instead. Its object stays until
-- retention, like a detected chunk's.
ALTER TABLE chunks ADD COLUMN skipped_at timestamptz;
ALTER TABLE chunks ADD CONSTRAINT chunks_detected_or_skipped CHECK (detected_at IS NULL OR skipped_at IS NULL);

DROP INDEX chunks_expirable;
CREATE INDEX chunks_expirable ON chunks (written_at)
    WHERE expired_at IS NULL AND (detected_at IS NOT NULL OR skipped_at IS NOT NULL);

-- +goose Down
DROP INDEX chunks_expirable;
CREATE INDEX chunks_expirable ON chunks (written_at) WHERE expired_at IS NULL AND detected_at IS NOT NULL;
ALTER TABLE chunks DROP CONSTRAINT chunks_detected_or_skipped;
ALTER TABLE chunks DROP COLUMN skipped_at;
ALTER TABLE streams DROP COLUMN mode;
