-- Every detection with a track id belongs to a track of its own capture and
-- class, and a track's frames_seen is the number of its detections (for the
-- streams unique_objects counts).
WITH seen AS (
    SELECT capture_id, track_id, min(stream_id) AS stream_id, count(*)::bigint AS detections,
           min(class_name) AS class_name, max(class_name) AS max_class
    FROM {{ source('sightline', 'detections') }}
    WHERE track_id IS NOT NULL
    GROUP BY capture_id, track_id
)
SELECT s.capture_id, s.track_id, s.detections, t.frames_seen, s.class_name, t.class_name AS track_class
FROM seen s
LEFT JOIN {{ source('sightline', 'tracks') }} t USING (capture_id, track_id)
WHERE s.stream_id IN (SELECT stream_id FROM {{ ref('unique_objects') }})
  AND (t.track_id IS NULL OR t.frames_seen <> s.detections OR t.class_name <> s.class_name OR s.class_name <> s.max_class)
