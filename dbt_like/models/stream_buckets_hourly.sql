{{ config(materialized='incremental', unique_key='stream_id, bucket', lookback='1m') }}
{{ test('unique', 'stream_id, bucket') }}
{{ test('not_null', 'stream_id, bucket, frames, objects') }}
{{ test('relationships', 'stream_id', to='stream_buckets', field='stream_id') }}
-- stream_buckets merged per hour, so a chart over a long range reads 60
-- times fewer rows: the series endpoint reads it whenever its bucket is a
-- whole number of hours. It needs the bucket var to divide an hour.
--
-- Incremental: the hours that frames written since the last run fall in
-- are recomputed from stream_buckets; a full build takes every hour there.
WITH changed AS (
    SELECT DISTINCT stream_id, date_bin('1 hour'::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket
    FROM {{ source('sightline', 'frames') }}
    WHERE {{ is_incremental() }} AND inserted_at >= {{ watermark() }}
    UNION
    SELECT DISTINCT stream_id, date_bin('1 hour'::interval, bucket, timestamptz '1970-01-01 00:00:00+00')
    FROM {{ ref('stream_buckets') }}
    WHERE NOT {{ is_incremental() }}
)
SELECT c.stream_id, c.bucket, b.frames, b.objects
FROM changed c
CROSS JOIN LATERAL (
    SELECT sum(b.frames)::bigint AS frames, sum(b.objects)::bigint AS objects
    FROM {{ ref('stream_buckets') }} b
    WHERE b.stream_id = c.stream_id AND b.bucket >= c.bucket AND b.bucket < c.bucket + interval '1 hour'
) b
WHERE b.frames IS NOT NULL
