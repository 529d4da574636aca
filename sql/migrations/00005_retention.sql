-- +goose Up
-- Retention, like Frigate's record.retain: stored frames (the chunk objects)
-- and rows are kept for a number of days, a global default that a stream
-- may override (NULL: the default; 0: forever). A chunk whose object was
-- removed keeps its row (its frames and detections hang off it) with
-- expired_at set.
ALTER TABLE streams ADD COLUMN retain_chunks_days integer CHECK (retain_chunks_days >= 0);
ALTER TABLE streams ADD COLUMN retain_rows_days integer CHECK (retain_rows_days >= 0);
ALTER TABLE chunks ADD COLUMN expired_at timestamptz;
CREATE INDEX chunks_expirable ON chunks (written_at) WHERE expired_at IS NULL AND detected_at IS NOT NULL;
CREATE INDEX captures_finished ON captures (finished_at) WHERE status <> 'running';

-- +goose Down
ALTER TABLE streams DROP COLUMN retain_chunks_days;
ALTER TABLE streams DROP COLUMN retain_rows_days;
DROP INDEX captures_finished;
DROP INDEX chunks_expirable;
ALTER TABLE chunks DROP COLUMN expired_at;
