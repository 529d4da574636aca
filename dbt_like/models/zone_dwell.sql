{{ config(materialized='incremental', unique_key='stream_id, zone, object, bucket',
          partition_by='stream_id, bucket', lookback='1m') }}
{{ test('unique', 'stream_id, zone, object, bucket') }}
{{ test('not_null', 'stream_id, zone, object, bucket, visits, avg_dwell_s, max_dwell_s') }}
{{ test('expression', 'visits > 0 AND avg_dwell_s >= 0 AND avg_dwell_s <= max_dwell_s') }}
-- Per stream, zone, object and time bucket: the visits that ended in the
-- bucket and how long they lasted, in seconds of stream time.
--
-- Incremental: the buckets of visits written since the last run are
-- replaced whole. A full build groups the visits in one pass instead.
WITH changed AS (
    SELECT DISTINCT stream_id, date_bin({{ var('bucket', "'1 minute'") }}::interval, exit_ts, timestamptz '1970-01-01 00:00:00+00') AS bucket
    FROM {{ source('sightline', 'zone_visits') }}
    WHERE inserted_at >= {{ watermark() }} AND exit_ts IS NOT NULL
)
SELECT c.stream_id, v.zone, v.object, c.bucket, v.visits, v.avg_dwell_s, v.max_dwell_s
FROM changed c
LEFT JOIN LATERAL (
    SELECT zone, class_name AS object, count(*)::bigint AS visits,
           (avg(dwell_ms) / 1000)::double precision AS avg_dwell_s, (max(dwell_ms) / 1000.0)::double precision AS max_dwell_s
    FROM {{ source('sightline', 'zone_visits') }} v
    WHERE v.stream_id = c.stream_id AND v.exit_ts >= c.bucket AND v.exit_ts < c.bucket + {{ var('bucket', "'1 minute'") }}::interval
    GROUP BY zone, class_name
) v ON true
WHERE {{ is_incremental() }}
UNION ALL
SELECT stream_id, zone, class_name,
       date_bin({{ var('bucket', "'1 minute'") }}::interval, exit_ts, timestamptz '1970-01-01 00:00:00+00'),
       count(*)::bigint, (avg(dwell_ms) / 1000)::double precision, (max(dwell_ms) / 1000.0)::double precision
FROM {{ source('sightline', 'zone_visits') }}
WHERE NOT {{ is_incremental() }} AND exit_ts IS NOT NULL
GROUP BY 1, 2, 3, 4
