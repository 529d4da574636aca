{{ config(materialized='table', unique_key='object') }}
{{ test('unique', 'object') }}
{{ test('unique', 'rank') }}
{{ test('not_null', 'object, streams, frames, objects, avg_per_frame, max_per_frame, rank') }}
-- Objects ranked across every stream by how many appear per analysed
-- frame, over all frames of all streams (streams where the object never
-- appears count too). streams is how many streams it was seen in.
WITH everything AS (
    SELECT sum(frames)::bigint AS frames FROM {{ ref('stream_totals') }}
), objects AS (
    SELECT
        object,
        count(*)::bigint AS streams,
        sum(objects)::bigint AS objects,
        max(max_per_frame)::bigint AS max_per_frame
    FROM {{ ref('stream_object_ranking') }}
    GROUP BY object
)
SELECT
    o.object,
    o.streams,
    e.frames,
    o.objects,
    o.objects::double precision / e.frames AS avg_per_frame,
    o.max_per_frame,
    row_number() OVER (ORDER BY o.objects::double precision / e.frames DESC, o.object COLLATE "C") AS rank
FROM objects o
CROSS JOIN everything e
