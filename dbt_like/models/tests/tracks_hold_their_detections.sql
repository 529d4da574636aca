-- Every detection with a track id belongs to a track of its own capture and
-- class, and a track's frames_seen is the number of its detections (for the
-- streams unique_objects counts).
--
-- After an incremental build of unique_objects it checks, per stream, the
-- detections from the earliest bucket that build replaced on, and the
-- tracks first seen since (their detections all come after); after a full
-- build, every stream's from its first track on: all of them.
WITH since AS (
    SELECT stream_id, min(bucket) AS since FROM {{ changed('unique_objects') }} c GROUP BY stream_id
), seen AS (
    SELECT d.capture_id, d.track_id, min(d.stream_id) AS stream_id, count(*)::bigint AS detections,
           min(d.class_name) AS class_name, max(d.class_name) AS max_class
    FROM since s
    JOIN {{ source('sightline', 'detections') }} d ON d.stream_id = s.stream_id AND d.ts >= s.since
    WHERE d.track_id IS NOT NULL
    GROUP BY d.capture_id, d.track_id
)
SELECT s.capture_id, s.track_id, s.detections, t.frames_seen, s.class_name, t.class_name AS track_class
FROM seen s
JOIN since USING (stream_id)
LEFT JOIN {{ source('sightline', 'tracks') }} t USING (capture_id, track_id)
WHERE t.track_id IS NULL OR t.class_name <> s.class_name OR s.class_name <> s.max_class
   OR (t.first_ts >= since.since AND t.frames_seen <> s.detections)
