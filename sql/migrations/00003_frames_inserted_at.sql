-- +goose Up
-- inserted_at is when a frame row was (re)written: the rollup's incremental
-- models re-derive the time buckets of frames written since their last run,
-- so late chunks and retried chunks (which delete and re-insert their rows)
-- land in the right buckets. Existing rows get the migration's time.
ALTER TABLE frames ADD COLUMN inserted_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX frames_inserted_at ON frames (inserted_at);

-- +goose Down
DROP INDEX frames_inserted_at;
ALTER TABLE frames DROP COLUMN inserted_at;
