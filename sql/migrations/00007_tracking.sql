-- +goose Up
-- tracking is a stream's tracking settings: {"tracker": {...thresholds},
-- "lines": [{"name", "from": [x, y], "to": [x, y]}], "zones": [{"name",
-- "points": [[x, y], ...]}], "debounce_frames": N}. Captures use them
-- unless their input says otherwise.
ALTER TABLE streams ADD COLUMN tracking jsonb NOT NULL DEFAULT '{}'::jsonb;

-- The tracking settings a capture ran with (its own, else its stream's),
-- for drawing its lines and zones on its frames; NULL: the defaults.
ALTER TABLE captures ADD COLUMN tracking jsonb;

-- The confirmed track a detection belongs to, within its capture; NULL for
-- detections no confirmed track took (tentative tracks, low scores).
ALTER TABLE detections ADD COLUMN track_id bigint;

-- track_state is a capture's tracker and counter after its chunks up to
-- next_chunk - 1, written in the transaction that writes those chunks'
-- track rows, so a retried or resumed chunk starts from the state it
-- started from the first time. json, not jsonb: the text is kept exactly.
CREATE TABLE track_state (
    capture_id text PRIMARY KEY REFERENCES captures (id) ON DELETE CASCADE,
    next_chunk integer NOT NULL,
    finished   boolean NOT NULL DEFAULT false,
    state      json NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per confirmed track of a capture.
CREATE TABLE tracks (
    capture_id  text NOT NULL REFERENCES captures (id) ON DELETE CASCADE,
    track_id    bigint NOT NULL,
    stream_id   text NOT NULL,
    class_name  text NOT NULL,
    first_frame integer NOT NULL,
    last_frame  integer NOT NULL,
    first_ts    timestamptz NOT NULL,
    last_ts     timestamptz NOT NULL,
    frames_seen integer NOT NULL,
    zones       text[] NOT NULL DEFAULT '{}',
    inserted_at timestamptz NOT NULL DEFAULT now(), -- last written, for incremental rollups
    PRIMARY KEY (capture_id, track_id)
);
CREATE INDEX tracks_inserted_at ON tracks (inserted_at);
CREATE INDEX tracks_stream_first_ts ON tracks (stream_id, first_ts);

-- A track crosses a line at most once per direction.
CREATE TABLE crossings (
    capture_id  text NOT NULL REFERENCES captures (id) ON DELETE CASCADE,
    line        text NOT NULL,
    track_id    bigint NOT NULL,
    direction   text NOT NULL CHECK (direction IN ('in', 'out')),
    stream_id   text NOT NULL,
    class_name  text NOT NULL,
    frame_index integer NOT NULL, -- where the debounce completed
    ts          timestamptz NOT NULL,
    inserted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (capture_id, line, track_id, direction)
);
CREATE INDEX crossings_inserted_at ON crossings (inserted_at);
CREATE INDEX crossings_stream_ts ON crossings (stream_id, ts);

-- A visit of a track to a zone; exit_* stay NULL while it is inside.
CREATE TABLE zone_visits (
    capture_id  text NOT NULL REFERENCES captures (id) ON DELETE CASCADE,
    zone        text NOT NULL,
    track_id    bigint NOT NULL,
    enter_frame integer NOT NULL,
    stream_id   text NOT NULL,
    class_name  text NOT NULL,
    enter_ts    timestamptz NOT NULL,
    exit_frame  integer,
    exit_ts     timestamptz,
    dwell_ms    bigint,
    inserted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (capture_id, zone, track_id, enter_frame)
);
CREATE INDEX zone_visits_inserted_at ON zone_visits (inserted_at);
CREATE INDEX zone_visits_stream_ts ON zone_visits (stream_id, enter_ts);

-- How many tracks of a class were in a zone at a frame (only counts > 0;
-- the frames table says which frames were analysed).
CREATE TABLE zone_occupancy (
    capture_id  text NOT NULL REFERENCES captures (id) ON DELETE CASCADE,
    frame_index integer NOT NULL,
    zone        text NOT NULL,
    class_name  text NOT NULL,
    stream_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    count       integer NOT NULL CHECK (count > 0),
    inserted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (capture_id, frame_index, zone, class_name)
);
CREATE INDEX zone_occupancy_inserted_at ON zone_occupancy (inserted_at);
CREATE INDEX zone_occupancy_stream_ts ON zone_occupancy (stream_id, ts);

-- +goose Down
DROP TABLE zone_occupancy;
DROP TABLE zone_visits;
DROP TABLE crossings;
DROP TABLE tracks;
DROP TABLE track_state;
ALTER TABLE detections DROP COLUMN track_id;
ALTER TABLE captures DROP COLUMN tracking;
ALTER TABLE streams DROP COLUMN tracking;
