-- Names for a search text (``:q``, a search key). First the names (with their town: ``high
-- street mal`` finds High Street, Maldon) starting with it, by a byte-wise range on the
-- text_pattern_ops index, towns before villages before streets. Only when those are fewer
-- than ``:limit``, the names nearest to it by trigram distance (pg_trgm GiST, nearest first):
-- misspellings (``chelmsfrd``). Each name once; ties by id, so the same question always gets
-- the same answer.
WITH prefix AS (
    SELECT id, 0 AS rank, CAST(1.0 AS real) AS score
    FROM gazetteer_names
    WHERE search_key ~>=~ :lo AND search_key ~<~ :hi
    ORDER BY weight, length(search_key), search_key USING ~<~, id
    LIMIT :limit
),
fuzzy AS (
    SELECT id, 1 AS rank, CAST(1 - (name_key <-> :q) AS real) AS score
    FROM gazetteer_names
    WHERE (SELECT count(*) FROM prefix) < :limit AND name_key % :q
    ORDER BY name_key <-> :q, id
    LIMIT :limit
),
best AS (
    SELECT DISTINCT ON (id) id, rank, score
    FROM (SELECT * FROM prefix UNION ALL SELECT * FROM fuzzy) candidates
    ORDER BY id, rank
)
SELECT g.name, g.place, g.kind, g.local_type, g.authority_code,
       ST_X(g.geom) AS lon, ST_Y(g.geom) AS lat, g.accuracy_m
FROM best b
JOIN gazetteer_names g USING (id)
ORDER BY b.rank, b.score DESC, g.weight, length(g.search_key), g.search_key, g.id
LIMIT :limit
