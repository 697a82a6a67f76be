-- A postcode of the gazetteer by its key (upper case, no spaces).
SELECT postcode, ST_X(geom) AS lon, ST_Y(geom) AS lat, accuracy_m
FROM gazetteer_postcodes
WHERE postcode_key = :key
