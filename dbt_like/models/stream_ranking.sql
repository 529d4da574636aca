{{ config(materialized='table', unique_key='stream_id') }}
{{ test('unique', 'stream_id') }}
{{ test('unique', 'rank') }}
{{ test('not_null', 'stream_id, frames, objects, avg_per_frame, rank') }}
-- Streams ranked by how busy they are: all confident objects per analysed
-- frame, with the stream's name and its top object for the API. rank 1 is
-- the busiest; ties go to the stream_id.
SELECT
    t.stream_id,
    t.stream_name,
    t.frames,
    t.objects,
    t.avg_per_frame,
    t.distinct_objects,
    top.object AS top_object,
    top.avg_per_frame AS top_object_avg_per_frame,
    row_number() OVER (ORDER BY t.avg_per_frame DESC, t.stream_id COLLATE "C") AS rank
FROM {{ ref('stream_totals') }} t
LEFT JOIN {{ ref('stream_object_ranking') }} top ON top.stream_id = t.stream_id AND top.rank = 1
