{{ config(materialized='incremental', unique_key='stream_id, line, direction, object, bucket',
          partition_by='stream_id, bucket', lookback='1m') }}
{{ test('unique', 'stream_id, line, direction, object, bucket') }}
{{ test('not_null', 'stream_id, line, direction, object, bucket, crossings') }}
{{ test('expression', "crossings > 0 AND direction IN ('in', 'out')") }}
-- Per stream, line, direction, object and time bucket: the objects that
-- crossed the line that way (each track at most once per direction).
--
-- Incremental: the buckets of crossings written since the last run are
-- replaced whole. A full build groups them in one pass instead.
WITH changed AS (
    SELECT DISTINCT stream_id, date_bin({{ var('bucket', "'1 minute'") }}::interval, ts, timestamptz '1970-01-01 00:00:00+00') AS bucket
    FROM {{ source('sightline', 'crossings') }}
    WHERE inserted_at >= {{ watermark() }}
)
SELECT c.stream_id, x.line, x.direction, x.object, c.bucket, x.crossings
FROM changed c
LEFT JOIN LATERAL (
    SELECT line, direction, class_name AS object, count(*)::bigint AS crossings
    FROM {{ source('sightline', 'crossings') }} x
    WHERE x.stream_id = c.stream_id AND x.ts >= c.bucket AND x.ts < c.bucket + {{ var('bucket', "'1 minute'") }}::interval
    GROUP BY line, direction, class_name
) x ON true
WHERE {{ is_incremental() }}
UNION ALL
SELECT stream_id, line, direction, class_name,
       date_bin({{ var('bucket', "'1 minute'") }}::interval, ts, timestamptz '1970-01-01 00:00:00+00'), count(*)::bigint
FROM {{ source('sightline', 'crossings') }}
WHERE NOT {{ is_incremental() }}
GROUP BY 1, 2, 3, 4, 5
