-- +goose Up
-- Streams are what users register; captures are runs over a stream (one per
-- CaptureWorkflow, id = workflow ID); chunks are groups of JPEG frames in the
-- object store; frames are every analysed frame (with or without detections,
-- so averages have the right denominator); detections hang off frames.
-- Every key is deterministic so retried activities rewrite the same rows.
CREATE TABLE streams (
    id         text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name       text NOT NULL,
    source     text NOT NULL,
    metadata   jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE captures (
    id              text PRIMARY KEY,
    stream_id       text NOT NULL REFERENCES streams (id),
    status          text NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'completed', 'failed', 'canceled')),
    source          text NOT NULL,
    every_ms        integer NOT NULL DEFAULT 0,
    chunk_frames    integer NOT NULL,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    frames_captured integer NOT NULL DEFAULT 0,
    error           text
);
CREATE INDEX captures_stream ON captures (stream_id, started_at DESC);

CREATE TABLE chunks (
    capture_id  text NOT NULL REFERENCES captures (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    stream_id   text NOT NULL,
    object_key  text NOT NULL,
    first_frame integer NOT NULL,
    frame_count integer NOT NULL,
    start_ms    bigint NOT NULL,
    end_ms      bigint NOT NULL,
    written_at  timestamptz NOT NULL DEFAULT now(),
    detected_at timestamptz,
    PRIMARY KEY (capture_id, seq)
);

CREATE TABLE frames (
    capture_id      text NOT NULL,
    frame_index     integer NOT NULL,
    stream_id       text NOT NULL,
    chunk_seq       integer NOT NULL,
    pts_ms          bigint NOT NULL,
    ts              timestamptz NOT NULL,
    width           integer NOT NULL,
    height          integer NOT NULL,
    detection_count integer NOT NULL,
    model           text NOT NULL,
    PRIMARY KEY (capture_id, frame_index),
    FOREIGN KEY (capture_id, chunk_seq) REFERENCES chunks (capture_id, seq) ON DELETE CASCADE
);
CREATE INDEX frames_stream_ts ON frames (stream_id, ts);

CREATE TABLE detections (
    capture_id  text NOT NULL,
    frame_index integer NOT NULL,
    det_index   smallint NOT NULL,
    stream_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    class_id    smallint NOT NULL,
    class_name  text NOT NULL,
    score       real NOT NULL,
    x1          real NOT NULL,
    y1          real NOT NULL,
    x2          real NOT NULL,
    y2          real NOT NULL,
    PRIMARY KEY (capture_id, frame_index, det_index),
    FOREIGN KEY (capture_id, frame_index) REFERENCES frames (capture_id, frame_index) ON DELETE CASCADE
);
CREATE INDEX detections_stream_ts ON detections (stream_id, ts);

CREATE SCHEMA IF NOT EXISTS analytics;

-- +goose Down
DROP SCHEMA IF EXISTS analytics CASCADE;
DROP TABLE detections;
DROP TABLE frames;
DROP TABLE chunks;
DROP TABLE captures;
DROP TABLE streams;
