-- Upsert the staged OS Open Names rows (gazetteer_names_in, filled by COPY) by their OS ID. A
-- row that did not change is not rewritten, so importing the same file again writes nothing.
WITH incoming AS (
    SELECT DISTINCT ON (id) id, name, name_key, search_key, kind, weight, local_type, place,
           postcode_district, authority_code,
           ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom, accuracy_m
    FROM gazetteer_names_in
    ORDER BY id
),
upserted AS (
    INSERT INTO gazetteer_names AS g
        (id, name, name_key, search_key, kind, weight, local_type, place, postcode_district,
         authority_code, geom, accuracy_m)
    SELECT id, name, name_key, search_key, kind, weight, local_type, place, postcode_district,
           authority_code, geom, accuracy_m
    FROM incoming
    ON CONFLICT (id) DO UPDATE
        SET name = EXCLUDED.name, name_key = EXCLUDED.name_key,
            search_key = EXCLUDED.search_key, kind = EXCLUDED.kind, weight = EXCLUDED.weight,
            local_type = EXCLUDED.local_type, place = EXCLUDED.place,
            postcode_district = EXCLUDED.postcode_district,
            authority_code = EXCLUDED.authority_code, geom = EXCLUDED.geom,
            accuracy_m = EXCLUDED.accuracy_m, imported_at = now()
        WHERE (g.name, g.search_key, g.kind, g.weight, g.local_type, g.place,
               g.postcode_district, g.authority_code, g.accuracy_m)
                  IS DISTINCT FROM
              (EXCLUDED.name, EXCLUDED.search_key, EXCLUDED.kind, EXCLUDED.weight,
               EXCLUDED.local_type, EXCLUDED.place, EXCLUDED.postcode_district,
               EXCLUDED.authority_code, EXCLUDED.accuracy_m)
           OR NOT ST_Equals(g.geom, EXCLUDED.geom)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS added,
       count(*) FILTER (WHERE NOT inserted) AS changed
FROM upserted
