-- +goose Up
-- detect is a stream's detection settings: {"model": "...", "filter":
-- {"classes": [...], "min_score": 0.5, "class_min_score": {"person": 0.4}}}.
-- Captures of the stream use them unless their input says otherwise.
ALTER TABLE streams ADD COLUMN detect jsonb NOT NULL DEFAULT '{}'::jsonb;

-- +goose Down
ALTER TABLE streams DROP COLUMN detect;
