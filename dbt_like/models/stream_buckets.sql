{{ config(materialized='incremental', unique_key='stream_id, bucket', include='frames, objects', lookback='1m') }}
{{ test('unique', 'stream_id, bucket') }}
{{ test('not_null', 'stream_id, bucket, frames, objects') }}
{{ test('expression', 'frames > 0 AND objects >= 0 AND first_ts <= last_ts') }}
-- Per stream and time bucket (var bucket, default 1 minute): the frames
-- analysed, with or without detections, and the confident objects seen in
-- them. The denominator of every average starts here.
--
-- The unique index carries the counts: a stream's time range (the API,
-- top_object_series, the hourly table) is an index-only scan.
--
-- Incremental: the buckets that frames written since the last run fall in
-- are recomputed whole (late data lands in old buckets; a retried chunk
-- re-derives the buckets it touches). A full build reads each table once
-- instead: the branch that does not apply is constant-false and planned
-- away.
WITH changed AS (
    SELECT DISTINCT stream_id, date_bin({{ var('bucket', "'1 minute'") }}::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket
    FROM {{ source('sightline', 'frames') }}
    WHERE inserted_at >= {{ watermark() }}
)
-- LATERAL reads each changed bucket through the (stream_id, ts) indexes,
-- whatever the planner guesses of how many buckets changed.
SELECT
    c.stream_id,
    c.bucket,
    f.frames,
    coalesce(o.objects, 0)::bigint AS objects,
    f.first_ts,
    f.last_ts
FROM changed c
CROSS JOIN LATERAL (
    SELECT count(*)::bigint AS frames, min(f.ts) AS first_ts, max(f.ts) AS last_ts
    FROM {{ source('sightline', 'frames') }} f
    WHERE f.stream_id = c.stream_id AND f.ts >= c.bucket AND f.ts < c.bucket + {{ var('bucket', "'1 minute'") }}::interval
) f
CROSS JOIN LATERAL (
    SELECT sum(o.n)::bigint AS objects
    FROM {{ ref('frame_object_counts') }} o
    WHERE o.stream_id = c.stream_id AND o.ts >= c.bucket AND o.ts < c.bucket + {{ var('bucket', "'1 minute'") }}::interval
) o
WHERE {{ is_incremental() }}
UNION ALL
SELECT f.stream_id, f.bucket, f.frames, coalesce(o.objects, 0)::bigint, f.first_ts, f.last_ts
FROM (
    SELECT stream_id, date_bin({{ var('bucket', "'1 minute'") }}::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket,
           count(*)::bigint AS frames, min(ts) AS first_ts, max(ts) AS last_ts
    FROM {{ source('sightline', 'frames') }}
    GROUP BY 1, 2
) f
LEFT JOIN (
    SELECT stream_id, date_bin({{ var('bucket', "'1 minute'") }}::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket,
           sum(n)::bigint AS objects
    FROM {{ ref('frame_object_counts') }}
    GROUP BY 1, 2
) o USING (stream_id, bucket)
WHERE NOT {{ is_incremental() }}
