{{ config(materialized='table') }}
-- Per stream, its objects ranked by how many appear per analysed frame
-- (frames without detections count in the denominator). rank 1 is the
-- highest avg_per_frame; ties go to the object name.
WITH stream_frames AS (
    SELECT stream_id, count(*)::bigint AS frames
    FROM {{ source('sightline', 'frames') }}
    GROUP BY stream_id
), stream_objects AS (
    SELECT
        stream_id,
        class_name AS object,
        sum(n)::bigint AS objects,
        max(n)::bigint AS max_per_frame
    FROM {{ ref('frame_object_counts') }}
    GROUP BY stream_id, class_name
)
SELECT
    o.stream_id,
    o.object,
    s.frames,
    o.objects,
    o.objects::double precision / s.frames AS avg_per_frame,
    o.max_per_frame,
    row_number() OVER (
        PARTITION BY o.stream_id
        ORDER BY o.objects::double precision / s.frames DESC, o.object COLLATE "C"
    ) AS rank
FROM stream_objects o
JOIN stream_frames s USING (stream_id)
