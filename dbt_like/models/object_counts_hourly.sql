{{ config(materialized='incremental', unique_key='stream_id, object, bucket',
          partition_by='stream_id, bucket', lookback='1m') }}
{{ test('unique', 'stream_id, object, bucket') }}
{{ test('not_null', 'stream_id, object, bucket, objects, max_per_frame') }}
{{ test('relationships', 'stream_id', to='stream_buckets_hourly', field='stream_id') }}
-- object_counts merged per hour (objects summed, the maximum per frame
-- kept), for the series endpoint's long ranges; see stream_buckets_hourly.
--
-- Incremental: the hours that frames written since the last run fall in
-- are replaced whole; an hour with no objects left yields one row with
-- object NULL, which deletes its old rows and is not stored.
WITH changed AS (
    SELECT DISTINCT stream_id, date_bin('1 hour'::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket
    FROM {{ source('sightline', 'frames') }}
    WHERE {{ is_incremental() }} AND inserted_at >= {{ watermark() }}
    UNION
    SELECT stream_id, bucket
    FROM {{ ref('stream_buckets_hourly') }}
    WHERE NOT {{ is_incremental() }}
)
SELECT c.stream_id, o.object, c.bucket, o.objects, o.max_per_frame
FROM changed c
LEFT JOIN LATERAL (
    SELECT o.object, sum(o.objects)::bigint AS objects, max(o.max_per_frame)::bigint AS max_per_frame
    FROM {{ ref('object_counts') }} o
    WHERE o.stream_id = c.stream_id AND o.bucket >= c.bucket AND o.bucket < c.bucket + interval '1 hour'
    GROUP BY o.object
) o ON true
