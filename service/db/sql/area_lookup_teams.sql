-- Active teams covering an authority, nearest base first.
SELECT t.id, t.name, t.shift_start, t.shift_end,
       ST_Distance(t.base_bng, ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 27700))
           AS distance_m
FROM team_areas ta
JOIN teams t ON t.id = ta.team_id
WHERE ta.authority_code = :code AND t.active
ORDER BY distance_m, t.id
