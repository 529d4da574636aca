-- +goose Up
-- Events for live clients (GET /api/v1/events), written by triggers from
-- what the pipeline already records, so they exist whichever process wrote
-- the row: a capture row inserted (capture.started), its frames_captured
-- moving (capture.progress), its status leaving running
-- (capture.finished), a chunk's detected_at set (chunk.detected). At least
-- once: a retried activity may repeat an event. Ids only grow, so a client
-- resumes after the last id it saw.
CREATE TABLE events (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    type       text NOT NULL,
    stream_id  text NOT NULL,
    capture_id text NOT NULL,
    data       jsonb NOT NULL
);
CREATE INDEX events_at ON events (at);

-- +goose StatementBegin
CREATE FUNCTION events_from_captures() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO events (type, stream_id, capture_id, data) VALUES ('capture.started', NEW.stream_id, NEW.id,
            jsonb_build_object('status', NEW.status, 'source', NEW.source, 'every_ms', NEW.every_ms,
                               'chunk_frames', NEW.chunk_frames, 'started_at', NEW.started_at));
    ELSIF NEW.status <> OLD.status AND NEW.status <> 'running' THEN
        INSERT INTO events (type, stream_id, capture_id, data) VALUES ('capture.finished', NEW.stream_id, NEW.id,
            jsonb_build_object('status', NEW.status, 'frames_captured', NEW.frames_captured,
                               'finished_at', NEW.finished_at, 'error', NEW.error));
    ELSIF NEW.frames_captured <> OLD.frames_captured THEN
        INSERT INTO events (type, stream_id, capture_id, data) VALUES ('capture.progress', NEW.stream_id, NEW.id,
            jsonb_build_object('frames_captured', NEW.frames_captured));
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER captures_events AFTER INSERT OR UPDATE ON captures
    FOR EACH ROW EXECUTE FUNCTION events_from_captures();

-- +goose StatementBegin
CREATE FUNCTION events_from_chunks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.detected_at IS NOT NULL AND OLD.detected_at IS DISTINCT FROM NEW.detected_at THEN
        INSERT INTO events (type, stream_id, capture_id, data) VALUES ('chunk.detected', NEW.stream_id, NEW.capture_id,
            jsonb_build_object('seq', NEW.seq, 'first_frame', NEW.first_frame, 'frames', NEW.frame_count,
                'detections', (SELECT count(*) FROM detections d JOIN frames f USING (capture_id, frame_index)
                               WHERE f.capture_id = NEW.capture_id AND f.chunk_seq = NEW.seq),
                'lag_ms', (extract(epoch FROM NEW.detected_at - NEW.written_at) * 1000)::bigint));
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER chunks_events AFTER UPDATE OF detected_at ON chunks
    FOR EACH ROW EXECUTE FUNCTION events_from_chunks();

-- +goose Down
DROP TRIGGER chunks_events ON chunks;
DROP FUNCTION events_from_chunks();
DROP TRIGGER captures_events ON captures;
DROP FUNCTION events_from_captures();
DROP TABLE events;
