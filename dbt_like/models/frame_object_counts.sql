{{ config(materialized='incremental', unique_key='stream_id, ts, capture_id, frame_index, class_name',
          partition_by='stream_id, ts, capture_id, frame_index', include='n', lookback='1m') }}
{{ test('not_null', 'capture_id, frame_index, stream_id, ts, class_name, n') }}
{{ test('expression', 'n > 0') }}
-- One row per analysed frame and class: how many confident detections of
-- the class the frame has. This is the only place the score threshold
-- (var min_score) is applied; every other model counts from here.
--
-- The grain is the frame (capture_id, frame_index) and the class; the key
-- leads with stream_id and ts, which the frame determines, so that the
-- unique index every incremental model gets (partition columns first)
-- serves both the merge and the models that read a stream's time bucket:
-- one index to build over the largest table instead of two. It carries n,
-- so those reads are index-only scans.
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
