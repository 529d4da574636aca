{{ config(materialized='table', unique_key='stream_id, object') }}
{{ test('unique', 'stream_id, object') }}
{{ test('expression', 'cardinality(buckets) = cardinality(avg_per_frame) AND cardinality(buckets) = cardinality(objects)') }}
-- Chart-ready time series: for each stream, its top objects (rank up to var
-- series_top, default 5) over the stream's latest buckets (var
-- series_buckets, default 1440: a day of 1-minute buckets). The arrays are
-- aligned on buckets, every bucket with analysed frames included, so a
-- bucket where the object was not seen is a 0, not a gap.
--
-- Built a stream at a time: its latest buckets and their counts come
-- through the unique indexes, and the joins and sorts stay small (one join
-- of every stream's buckets with every count spills to disk).
SELECT s.stream_id, t.object, t.rank, t.buckets, t.frames, t.objects, t.avg_per_frame, t.max_per_frame
FROM (
    SELECT DISTINCT stream_id FROM {{ ref('stream_object_ranking') }} WHERE rank <= {{ var('series_top', '5') }}
) s
CROSS JOIN LATERAL (
    WITH recent AS (
        SELECT b.bucket, b.frames
        FROM {{ ref('stream_buckets') }} b
        WHERE b.stream_id = s.stream_id
        ORDER BY b.bucket DESC
        LIMIT {{ var('series_buckets', '1440') }}
    )
    SELECT
        o.object,
        o.rank,
        array_agg(r.bucket ORDER BY r.bucket) AS buckets,
        array_agg(r.frames ORDER BY r.bucket) AS frames,
        array_agg(coalesce(c.objects, 0)::bigint ORDER BY r.bucket) AS objects,
        array_agg(coalesce(c.avg_per_frame, 0)::double precision ORDER BY r.bucket) AS avg_per_frame,
        array_agg(coalesce(c.max_per_frame, 0)::bigint ORDER BY r.bucket) AS max_per_frame
    FROM recent r
    CROSS JOIN {{ ref('stream_object_ranking') }} o
    LEFT JOIN {{ ref('object_counts') }} c
        ON c.stream_id = s.stream_id AND c.bucket >= (SELECT min(bucket) FROM recent)
        AND c.object = o.object AND c.bucket = r.bucket
    WHERE o.stream_id = s.stream_id AND o.rank <= {{ var('series_top', '5') }}
    GROUP BY o.object, o.rank
) t
