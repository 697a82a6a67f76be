-- Postcodes starting with what was typed by a plain ILIKE scan (bench.gazetteer's baseline;
-- not used by the service).
SELECT postcode, ST_X(geom) AS lon, ST_Y(geom) AS lat
FROM gazetteer_postcodes
WHERE postcode ILIKE CAST(:q AS text) || '%'
ORDER BY postcode
LIMIT :limit
