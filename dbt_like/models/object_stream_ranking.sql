{{ config(materialized='table') }}
-- Per object, the streams ranked by how many of it appear per analysed
-- frame. rank 1 is the highest avg_per_frame; ties go to the stream_id.
-- stream_name is NULL for frames whose stream is not registered.
SELECT
    r.object,
    r.stream_id,
    s.name AS stream_name,
    r.frames,
    r.objects,
    r.avg_per_frame,
    r.max_per_frame,
    row_number() OVER (
        PARTITION BY r.object
        ORDER BY r.avg_per_frame DESC, r.stream_id COLLATE "C"
    ) AS rank
FROM {{ ref('stream_object_ranking') }} r
LEFT JOIN {{ source('sightline', 'streams') }} s ON s.id = r.stream_id
