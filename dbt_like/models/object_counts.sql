{{ config(materialized='incremental', unique_key='stream_id, object, bucket',
          partition_by='stream_id, bucket', include='frames, objects, avg_per_frame, max_per_frame', lookback='1m') }}
{{ test('unique', 'stream_id, object, bucket') }}
{{ test('not_null', 'stream_id, object, bucket, frames, objects, avg_per_frame, max_per_frame') }}
{{ test('expression', 'objects > 0 AND max_per_frame <= objects AND objects <= frames * max_per_frame') }}
{{ test('relationships', 'stream_id', to='stream_buckets', field='stream_id') }}
-- Per stream, object and time bucket: frames analysed in the bucket (all of
-- them, with or without detections, so avg_per_frame has the right
-- denominator), objects seen, and the average and maximum per frame. Only
-- objects seen in a bucket get a row.
--
-- The unique index carries the counts: a stream's time range (the API,
-- top_object_series, object_counts_hourly) is an index-only scan.
--
-- Incremental: the buckets that frames written since the last run fall in
-- are replaced whole. A changed bucket with no objects left yields one row
-- with object NULL, which deletes the bucket's old rows and is not stored.
-- A full build groups frame_object_counts in one pass instead (the branch
-- that does not apply is constant-false and planned away).
WITH changed AS (
    SELECT DISTINCT stream_id, date_bin({{ var('bucket', "'1 minute'") }}::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket
    FROM {{ source('sightline', 'frames') }}
    WHERE inserted_at >= {{ watermark() }}
)
-- LATERAL reads each changed bucket through the (stream_id, ts) index,
-- whatever the planner guesses of how many buckets changed.
SELECT
    c.stream_id,
    o.object,
    c.bucket,
    b.frames,
    o.objects,
    o.objects::double precision / b.frames AS avg_per_frame,
    o.max_per_frame
FROM changed c
JOIN {{ ref('stream_buckets') }} b ON b.stream_id = c.stream_id AND b.bucket = c.bucket
LEFT JOIN LATERAL (
    SELECT o.class_name AS object, sum(o.n)::bigint AS objects, max(o.n)::bigint AS max_per_frame
    FROM {{ ref('frame_object_counts') }} o
    WHERE o.stream_id = c.stream_id AND o.ts >= c.bucket AND o.ts < c.bucket + {{ var('bucket', "'1 minute'") }}::interval
    GROUP BY o.class_name
) o ON true
WHERE {{ is_incremental() }}
UNION ALL
SELECT o.stream_id, o.object, o.bucket, b.frames, o.objects, o.objects::double precision / b.frames, o.max_per_frame
FROM (
    SELECT stream_id, class_name AS object,
           date_bin({{ var('bucket', "'1 minute'") }}::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket,
           sum(n)::bigint AS objects, max(n)::bigint AS max_per_frame
    FROM {{ ref('frame_object_counts') }}
    GROUP BY 1, 2, 3
) o
JOIN {{ ref('stream_buckets') }} b ON b.stream_id = o.stream_id AND b.bucket = o.bucket
WHERE NOT {{ is_incremental() }}
