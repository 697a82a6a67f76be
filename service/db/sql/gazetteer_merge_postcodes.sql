-- Upsert the staged postcodes (gazetteer_postcodes_in, filled by COPY). A row that did not
-- change is not rewritten, so importing the same file again writes nothing.
WITH incoming AS (
    SELECT DISTINCT ON (postcode_key) postcode_key, postcode, authority_code,
           ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom, accuracy_m
    FROM gazetteer_postcodes_in
    ORDER BY postcode_key
),
upserted AS (
    INSERT INTO gazetteer_postcodes AS g
        (postcode_key, postcode, authority_code, geom, accuracy_m, source)
    SELECT postcode_key, postcode, authority_code, geom, accuracy_m, :source FROM incoming
    ON CONFLICT (postcode_key) DO UPDATE
        SET postcode = EXCLUDED.postcode, authority_code = EXCLUDED.authority_code,
            geom = EXCLUDED.geom, accuracy_m = EXCLUDED.accuracy_m, source = EXCLUDED.source,
            imported_at = now()
        WHERE (g.postcode, g.authority_code, g.accuracy_m, g.source)
                  IS DISTINCT FROM
              (EXCLUDED.postcode, EXCLUDED.authority_code, EXCLUDED.accuracy_m, EXCLUDED.source)
           OR NOT ST_Equals(g.geom, EXCLUDED.geom)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS added,
       count(*) FILTER (WHERE NOT inserted) AS changed
FROM upserted
