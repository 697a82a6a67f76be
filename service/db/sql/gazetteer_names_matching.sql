-- Gazetteer names whose key is one of the phrases of a referral's description (exact match on
-- the name_key index), most specific first: streets and named features before villages
-- before towns, longer names before shorter.
SELECT name, name_key, place, kind, weight, ST_X(geom) AS lon, ST_Y(geom) AS lat, accuracy_m
FROM gazetteer_names
WHERE name_key = ANY(CAST(:keys AS text[]))
ORDER BY length(name_key) DESC, weight DESC, accuracy_m
LIMIT 50
