-- Tile layer "areas": the current authorities clipped to the tile (Web Mercator, MVT).
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS query
)
SELECT ST_AsMVT(f, 'areas', :extent, 'geom') AS mvt, count(*) AS features, false AS capped
FROM (
    SELECT a.code, a.name, a.kind,
           ST_AsMVTGeom(ST_Transform(a.geom, 3857), b.tile, :extent, :buffer) AS geom
      FROM authorities a
      JOIN boundary_versions v ON v.id = a.version_id AND v.is_current
     CROSS JOIN bounds b
     WHERE a.geom && b.query
) f
WHERE f.geom IS NOT NULL
