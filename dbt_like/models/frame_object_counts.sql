{{ config(materialized='view') }}
-- One row per frame and class: how many confident detections of the class
-- the frame has. This is the only place the score threshold is applied;
-- every other model counts from here. stream_id and ts come from frames,
-- the record of what was analysed.
SELECT
    f.capture_id,
    f.frame_index,
    f.stream_id,
    f.ts,
    d.class_name,
    count(*)::bigint AS n
FROM {{ source('sightline', 'frames') }} f
JOIN {{ source('sightline', 'detections') }} d
    ON d.capture_id = f.capture_id AND d.frame_index = f.frame_index
WHERE d.score >= {{ var('min_score', '0.3') }}
GROUP BY f.capture_id, f.frame_index, f.stream_id, f.ts, d.class_name
