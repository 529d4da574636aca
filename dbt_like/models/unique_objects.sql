{{ config(materialized='incremental', unique_key='stream_id, object, bucket',
          partition_by='stream_id, bucket', lookback='1m') }}
{{ test('unique', 'stream_id, object, bucket') }}
{{ test('not_null', 'stream_id, object, bucket, tracks') }}
{{ test('expression', 'tracks > 0') }}
-- Per stream, object and time bucket: the objects that appeared, counted
-- once each however long they stayed: confirmed tracks first seen in the
-- bucket.
--
-- Incremental: the buckets of tracks written since the last run are
-- replaced whole; a bucket left with no tracks yields one row with object
-- NULL, which deletes its old rows and is not stored. A full build groups
-- the tracks in one pass instead.
WITH changed AS (
    SELECT DISTINCT stream_id, date_bin({{ var('bucket', "'1 minute'") }}::interval, first_ts, timestamptz '1970-01-01 00:00:00+00') AS bucket
    FROM {{ source('sightline', 'tracks') }}
    WHERE inserted_at >= {{ watermark() }}
)
SELECT c.stream_id, t.object, c.bucket, t.tracks
FROM changed c
LEFT JOIN LATERAL (
    SELECT class_name AS object, count(*)::bigint AS tracks
    FROM {{ source('sightline', 'tracks') }} t
    WHERE t.stream_id = c.stream_id AND t.first_ts >= c.bucket AND t.first_ts < c.bucket + {{ var('bucket', "'1 minute'") }}::interval
    GROUP BY class_name
) t ON true
WHERE {{ is_incremental() }}
UNION ALL
SELECT stream_id, class_name,
       date_bin({{ var('bucket', "'1 minute'") }}::interval, first_ts, timestamptz '1970-01-01 00:00:00+00'), count(*)::bigint
FROM {{ source('sightline', 'tracks') }}
WHERE NOT {{ is_incremental() }}
GROUP BY 1, 2, 3
