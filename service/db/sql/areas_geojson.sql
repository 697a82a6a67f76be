-- Current authorities as GeoJSON geometries, optionally simplified in metres (BNG) first,
-- with the covering teams and whether SWEP is on (who switched it is for staff: GET /v1/swep).
SELECT a.code, a.name, a.kind, v.id AS boundary_version, v.label AS boundary_label,
       v.approximate, v.attribution,
       ST_AsGeoJSON(
           CASE WHEN :simplify_m > 0
                THEN ST_Transform(ST_Multi(ST_SimplifyPreserveTopology(a.geom_bng, :simplify_m)), 4326)
                ELSE a.geom END,
           6) AS geometry,
       COALESCE(
           (SELECT array_agg(t.id ORDER BY t.id) FROM team_areas ta
              JOIN teams t ON t.id = ta.team_id
             WHERE ta.authority_code = a.code AND t.active),
           ARRAY[]::integer[]) AS team_ids,
       COALESCE(s.active, false) AS swep_active
FROM authorities a
JOIN boundary_versions v ON v.id = a.version_id AND v.is_current
LEFT JOIN swep_states s ON s.authority_code = a.code
ORDER BY a.code
