{{ config(materialized='table', unique_key='stream_id, object') }}
{{ test('unique', 'stream_id, object') }}
{{ test('unique', 'stream_id, rank') }}
{{ test('not_null', 'stream_id, object, frames, objects, avg_per_frame, max_per_frame, rank') }}
{{ test('relationships', 'stream_id', to='stream_totals', field='stream_id') }}
-- Per stream, its objects ranked by how many appear per analysed frame
-- (frames without detections count in the denominator). rank 1 is the
-- highest avg_per_frame; ties go to the object name.
WITH objects AS (
    SELECT
        stream_id,
        object,
        sum(objects)::bigint AS objects,
        max(max_per_frame)::bigint AS max_per_frame
    FROM {{ ref('object_counts') }}
    GROUP BY stream_id, object
)
SELECT
    o.stream_id,
    o.object,
    t.frames,
    o.objects,
    o.objects::double precision / t.frames AS avg_per_frame,
    o.max_per_frame,
    row_number() OVER (
        PARTITION BY o.stream_id
        ORDER BY o.objects::double precision / t.frames DESC, o.object COLLATE "C"
    ) AS rank
FROM objects o
JOIN {{ ref('stream_totals') }} t USING (stream_id)
