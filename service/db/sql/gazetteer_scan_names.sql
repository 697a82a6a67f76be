-- The question of gazetteer_search_names.sql by a plain ILIKE scan (bench.gazetteer's
-- baseline; not used by the service).
SELECT id, name, place, kind, ST_X(geom) AS lon, ST_Y(geom) AS lat, accuracy_m
FROM gazetteer_names
WHERE name ILIKE '%' || CAST(:q AS text) || '%'
ORDER BY weight, name
LIMIT :limit
