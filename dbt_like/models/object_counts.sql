{{ config(materialized='table') }}
-- Per stream, object and time bucket. frames counts every analysed frame of
-- the stream in the bucket (with or without detections), so avg_per_frame
-- has the right denominator. Only objects seen in a bucket get a row.
WITH frame_buckets AS (
    SELECT
        stream_id,
        date_bin({{ var('bucket', "'1 minute'") }}::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket,
        count(*)::bigint AS frames
    FROM {{ source('sightline', 'frames') }}
    GROUP BY 1, 2
), object_buckets AS (
    SELECT
        stream_id,
        class_name AS object,
        date_bin({{ var('bucket', "'1 minute'") }}::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket,
        sum(n)::bigint AS objects,
        max(n)::bigint AS max_per_frame
    FROM {{ ref('frame_object_counts') }}
    GROUP BY 1, 2, 3
)
SELECT
    o.stream_id,
    o.object,
    o.bucket,
    f.frames,
    o.objects,
    o.objects::double precision / f.frames AS avg_per_frame,
    o.max_per_frame
FROM object_buckets o
JOIN frame_buckets f USING (stream_id, bucket)
