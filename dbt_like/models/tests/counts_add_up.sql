-- Every confident detection is counted once all the way up: per stream, the
-- objects of the buckets, of the object ranking and of the totals agree,
-- and so do the frames.
WITH buckets AS (
    SELECT stream_id, sum(frames)::bigint AS frames, sum(objects)::bigint AS objects
    FROM {{ ref('stream_buckets') }} GROUP BY stream_id
), ranked AS (
    SELECT stream_id, sum(objects)::bigint AS objects FROM {{ ref('stream_object_ranking') }} GROUP BY stream_id
)
SELECT t.stream_id, t.frames, b.frames AS bucket_frames, t.objects, b.objects AS bucket_objects,
       coalesce(r.objects, 0) AS ranked_objects
FROM {{ ref('stream_totals') }} t
JOIN buckets b USING (stream_id)
LEFT JOIN ranked r USING (stream_id)
WHERE t.frames <> b.frames OR t.objects <> b.objects OR t.objects <> coalesce(r.objects, 0)
