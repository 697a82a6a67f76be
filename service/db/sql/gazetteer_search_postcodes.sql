-- Postcodes starting with what was typed, as byte-wise ranges on text_pattern_ops indexes
-- (any collation). ``:lo``/``:hi`` bound the written form (``CM1 `` finds the whole outward
-- code CM1 first); without a space typed, ``:key_lo``/``:key_hi`` also find longer outward
-- codes (``CM1`` -> CM11, CM12 …) after those.
SELECT postcode, authority_code, ST_X(geom) AS lon, ST_Y(geom) AS lat, accuracy_m
FROM (
    (SELECT postcode, authority_code, geom, accuracy_m, 0 AS rank
     FROM gazetteer_postcodes
     WHERE postcode ~>=~ :lo AND postcode ~<~ :hi
     ORDER BY postcode USING ~<~
     LIMIT :limit)
    UNION ALL
    (SELECT postcode, authority_code, geom, accuracy_m, 1 AS rank
     FROM gazetteer_postcodes
     WHERE CAST(:key_lo AS text) IS NOT NULL
       AND postcode_key ~>=~ :key_lo AND postcode_key ~<~ :key_hi
       AND NOT (postcode ~>=~ :lo AND postcode ~<~ :hi)
     ORDER BY postcode_key USING ~<~
     LIMIT :limit)
) found
ORDER BY rank, postcode USING ~<~
LIMIT :limit
