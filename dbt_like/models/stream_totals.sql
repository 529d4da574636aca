{{ config(materialized='table', unique_key='stream_id') }}
{{ test('unique', 'stream_id') }}
{{ test('not_null', 'stream_id, frames, objects, avg_per_frame, buckets') }}
{{ test('relationships', 'stream_id', to_source='streams', field='id', severity='warn') }}
-- Per stream: frames analysed, objects seen, objects per frame, distinct
-- objects, time buckets with data, the first and last frame, and the
-- stream's registered name (NULL for frames of an unregistered stream).
WITH buckets AS (
    SELECT
        stream_id,
        sum(frames)::bigint AS frames,
        sum(objects)::bigint AS objects,
        count(*)::bigint AS buckets,
        min(first_ts) AS first_ts,
        max(last_ts) AS last_ts
    FROM {{ ref('stream_buckets') }}
    GROUP BY stream_id
), kinds AS (
    SELECT stream_id, count(DISTINCT object)::bigint AS distinct_objects
    FROM {{ ref('object_counts') }}
    GROUP BY stream_id
)
SELECT
    b.stream_id,
    s.name AS stream_name,
    b.frames,
    b.objects,
    b.objects::double precision / b.frames AS avg_per_frame,
    coalesce(k.distinct_objects, 0)::bigint AS distinct_objects,
    b.buckets,
    b.first_ts,
    b.last_ts
FROM buckets b
LEFT JOIN kinds k USING (stream_id)
LEFT JOIN {{ source('sightline', 'streams') }} s ON s.id = b.stream_id
