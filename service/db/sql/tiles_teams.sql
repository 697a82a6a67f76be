-- Tile layer "teams": each active team's territory, the union of its authorities' subdivided
-- parts that touch the tile (so only nearby pieces are unioned), clipped to the tile.
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS query
)
SELECT ST_AsMVT(f, 'teams', :extent, 'geom') AS mvt, count(*) AS features, false AS capped
FROM (
    SELECT t.id AS team_id, t.name,
           ST_AsMVTGeom(ST_Transform(ST_Union(p.geom), 3857), b.tile, :extent, :buffer) AS geom
      FROM teams t
      JOIN team_areas ta ON ta.team_id = t.id
      JOIN authorities a ON a.code = ta.authority_code
      JOIN boundary_versions v ON v.id = a.version_id AND v.is_current
      JOIN authority_parts p ON p.authority_id = a.id
     CROSS JOIN bounds b
     WHERE t.active AND p.geom && b.query
     GROUP BY t.id, t.name, b.tile
) f
WHERE f.geom IS NOT NULL
