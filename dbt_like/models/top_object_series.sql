{{ config(materialized='table', unique_key='stream_id, object') }}
{{ test('unique', 'stream_id, object') }}
{{ test('expression', 'cardinality(buckets) = cardinality(avg_per_frame) AND cardinality(buckets) = cardinality(objects)') }}
-- Chart-ready time series: for each stream, its top objects (rank up to var
-- series_top, default 5) over the stream's latest buckets (var
-- series_buckets, default 1440: a day of 1-minute buckets). The arrays are
-- aligned on buckets, every bucket with analysed frames included, so a
-- bucket where the object was not seen is a 0, not a gap.
WITH top AS (
    SELECT stream_id, object, rank
    FROM {{ ref('stream_object_ranking') }}
    WHERE rank <= {{ var('series_top', '5') }}
), recent AS (
    SELECT stream_id, bucket, frames
    FROM (
        SELECT stream_id, bucket, frames,
               row_number() OVER (PARTITION BY stream_id ORDER BY bucket DESC) AS k
        FROM {{ ref('stream_buckets') }}
    ) b
    WHERE k <= {{ var('series_buckets', '1440') }}
)
SELECT
    t.stream_id,
    t.object,
    t.rank,
    array_agg(r.bucket ORDER BY r.bucket) AS buckets,
    array_agg(r.frames ORDER BY r.bucket) AS frames,
    array_agg(coalesce(c.objects, 0)::bigint ORDER BY r.bucket) AS objects,
    array_agg(coalesce(c.avg_per_frame, 0)::double precision ORDER BY r.bucket) AS avg_per_frame,
    array_agg(coalesce(c.max_per_frame, 0)::bigint ORDER BY r.bucket) AS max_per_frame
FROM top t
JOIN recent r USING (stream_id)
LEFT JOIN {{ ref('object_counts') }} c
    ON c.stream_id = t.stream_id AND c.object = t.object AND c.bucket = r.bucket
GROUP BY t.stream_id, t.object, t.rank
