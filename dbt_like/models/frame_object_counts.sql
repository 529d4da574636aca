{{ config(materialized='incremental', unique_key='capture_id, frame_index, class_name',
          partition_by='capture_id, frame_index', indexes='stream_id, ts', lookback='1m') }}
{{ test('not_null', 'capture_id, frame_index, stream_id, ts, class_name, n') }}
{{ test('expression', 'n > 0') }}
-- One row per analysed frame and class: how many confident detections of
-- the class the frame has. This is the only place the score threshold
-- (var min_score) is applied; every other model counts from here.
--
-- Its unique_key is enforced by the unique index every incremental model
-- gets (a unique test over all its rows would cost more than the small
-- merges it checks).
--
-- Incremental: frames written since the last run (new, late or retried
-- chunks: a retry deletes and re-inserts its frames) are re-derived and
-- replace their frame's rows. A frame without confident detections yields
-- one row with class_name NULL: it marks the frame as changed, so classes
-- it no longer has are deleted, and is itself not stored.
SELECT
    f.capture_id,
    f.frame_index,
    f.stream_id,
    f.ts,
    d.class_name,
    count(d.class_name)::bigint AS n
FROM {{ source('sightline', 'frames') }} f
LEFT JOIN {{ source('sightline', 'detections') }} d
    ON d.capture_id = f.capture_id AND d.frame_index = f.frame_index
    AND d.score >= {{ var('min_score', '0.3') }}
WHERE f.inserted_at >= {{ watermark() }}
GROUP BY f.capture_id, f.frame_index, f.stream_id, f.ts, d.class_name
