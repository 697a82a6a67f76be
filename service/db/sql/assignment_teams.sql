-- Active teams with their base (BNG metres and WGS84), shift times and covered authorities.
SELECT t.id, t.name, t.shift_capacity, t.shift_start, t.shift_end,
       ST_X(t.base_bng) AS base_easting, ST_Y(t.base_bng) AS base_northing,
       ST_X(t.base) AS base_lon, ST_Y(t.base) AS base_lat,
       COALESCE(array_agg(ta.authority_code ORDER BY ta.authority_code)
                FILTER (WHERE ta.authority_code IS NOT NULL), ARRAY[]::varchar[]) AS covers
FROM teams t
LEFT JOIN team_areas ta ON ta.team_id = t.id
WHERE t.active AND (CAST(:team_id AS integer) IS NULL OR t.id = :team_id)
GROUP BY t.id
ORDER BY t.id
