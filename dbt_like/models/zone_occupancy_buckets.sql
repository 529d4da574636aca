{{ config(materialized='incremental', unique_key='stream_id, zone, object, bucket',
          partition_by='stream_id, bucket', lookback='1m') }}
{{ test('unique', 'stream_id, zone, object, bucket') }}
{{ test('not_null', 'stream_id, zone, object, bucket, frames, avg_occupancy, max_occupancy') }}
{{ test('expression', 'max_occupancy > 0 AND avg_occupancy > 0 AND avg_occupancy <= max_occupancy') }}
{{ test('relationships', 'stream_id', to='stream_buckets', field='stream_id') }}
-- Per stream, zone, object and time bucket: how many were in the zone, on
-- average over every analysed frame of the bucket (frames with nobody in
-- it count as 0) and at most.
--
-- Incremental: the buckets with occupancy or frames written since the last
-- run are replaced whole (a late frame changes a bucket's denominator). A
-- full build groups zone_occupancy in one pass instead (the branch that
-- does not apply is constant-false and planned away).
WITH changed AS (
    SELECT stream_id, date_bin({{ var('bucket', "'1 minute'") }}::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket
    FROM {{ source('sightline', 'zone_occupancy') }}
    WHERE inserted_at >= {{ watermark() }}
    UNION
    SELECT stream_id, date_bin({{ var('bucket', "'1 minute'") }}::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket
    FROM {{ source('sightline', 'frames') }}
    WHERE inserted_at >= {{ watermark() }}
)
SELECT c.stream_id, z.zone, z.object, c.bucket, b.frames,
       z.total::double precision / b.frames AS avg_occupancy, z.max_occupancy
FROM changed c
JOIN {{ ref('stream_buckets') }} b ON b.stream_id = c.stream_id AND b.bucket = c.bucket
LEFT JOIN LATERAL (
    SELECT zone, class_name AS object, sum(count)::bigint AS total, max(count)::bigint AS max_occupancy
    FROM {{ source('sightline', 'zone_occupancy') }} o
    WHERE o.stream_id = c.stream_id AND o.ts >= c.bucket AND o.ts < c.bucket + {{ var('bucket', "'1 minute'") }}::interval
    GROUP BY zone, class_name
) z ON true
WHERE {{ is_incremental() }}
UNION ALL
SELECT z.stream_id, z.zone, z.object, z.bucket, b.frames, z.total::double precision / b.frames, z.max_occupancy
FROM (
    SELECT stream_id, zone, class_name AS object,
           date_bin({{ var('bucket', "'1 minute'") }}::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket,
           sum(count)::bigint AS total, max(count)::bigint AS max_occupancy
    FROM {{ source('sightline', 'zone_occupancy') }}
    GROUP BY 1, 2, 3, 4
) z
JOIN {{ ref('stream_buckets') }} b ON b.stream_id = z.stream_id AND b.bucket = z.bucket
WHERE NOT {{ is_incremental() }}
