-- An object crosses a line at most once per direction: per stream, line,
-- direction and object, crossings never outnumber the objects that
-- appeared.
WITH crossed AS (
    SELECT stream_id, line, direction, object, sum(crossings)::bigint AS crossings
    FROM {{ ref('line_crossings') }} GROUP BY 1, 2, 3, 4
), appeared AS (
    SELECT stream_id, object, sum(tracks)::bigint AS tracks FROM {{ ref('unique_objects') }} GROUP BY 1, 2
)
SELECT c.*, coalesce(a.tracks, 0) AS tracks
FROM crossed c LEFT JOIN appeared a USING (stream_id, object)
WHERE c.crossings > coalesce(a.tracks, 0)
