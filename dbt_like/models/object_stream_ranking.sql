{{ config(materialized='table', unique_key='object, stream_id') }}
{{ test('unique', 'object, rank') }}
{{ test('not_null', 'object, stream_id, frames, objects, avg_per_frame, rank') }}
-- Per object, the streams ranked by how many of it appear per analysed
-- frame. rank 1 is the highest avg_per_frame; ties go to the stream_id.
-- stream_name is NULL for frames whose stream is not registered.
SELECT
    r.object,
    r.stream_id,
    t.stream_name,
    r.frames,
    r.objects,
    r.avg_per_frame,
    r.max_per_frame,
    row_number() OVER (
        PARTITION BY r.object
        ORDER BY r.avg_per_frame DESC, r.stream_id COLLATE "C"
    ) AS rank
FROM {{ ref('stream_object_ranking') }} r
JOIN {{ ref('stream_totals') }} t USING (stream_id)
