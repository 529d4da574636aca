-- +goose Up
-- A gap is a stretch of a live capture with no frames: the source dropped
-- and the capture reconnected (ended_at set) or the window ran out first
-- (ended_at NULL). gap_index is counted by the capture so a retried
-- activity rewrites its gaps instead of adding more.
CREATE TABLE capture_gaps (
    capture_id text NOT NULL REFERENCES captures (id) ON DELETE CASCADE,
    gap_index  integer NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at   timestamptz,
    reason     text NOT NULL,
    PRIMARY KEY (capture_id, gap_index)
);

-- +goose Down
DROP TABLE capture_gaps;
