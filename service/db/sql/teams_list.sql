SELECT t.id, t.name, ST_X(t.base) AS base_lon, ST_Y(t.base) AS base_lat, t.shift_capacity,
       t.shift_start, t.shift_end, t.active,
       COALESCE(array_agg(ta.authority_code ORDER BY ta.authority_code)
                FILTER (WHERE ta.authority_code IS NOT NULL), ARRAY[]::varchar[]) AS covers
FROM teams t
LEFT JOIN team_areas ta ON ta.team_id = t.id
GROUP BY t.id
ORDER BY t.name
