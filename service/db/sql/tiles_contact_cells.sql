-- Tile layer "contact_cells": outreach contacts the caller may not see as points, counted in
-- grid cells (the tiles of zoom :cz, so a cell never straddles two tiles and has one count).
-- Counts under :suppress_below are not given, only the label "<5".
-- :qz/:qx/:qy is the region counted: the tile itself, or the cell holding it when cells are
-- larger than the tile; :cx0..:cx1, :cy0..:cy1 (exclusive ends) are its cells, :cell_m their
-- side in Web-Mercator metres.
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_TileEnvelope(:qz, :qx, :qy) AS region,
           CAST(:cell_m AS float8) AS cell_m
), counted AS (
    SELECT floor((ST_X(s.p) + 20037508.342789244) / b.cell_m)::int AS cx,
           floor((20037508.342789244 - ST_Y(s.p)) / b.cell_m)::int AS cy,
           count(*) AS n
      FROM (SELECT r.geom_mercator AS p
              FROM contacts r CROSS JOIN bounds b
             WHERE r.geom_mercator && b.region
               AND r.observed_at >= :since AND r.observed_at < :until
               AND staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                         r.authority_code, r.team_id) IS NOT TRUE) s
     CROSS JOIN bounds b
     GROUP BY 1, 2
)
SELECT ST_AsMVT(f, 'contact_cells', :extent, 'geom') AS mvt, count(*) AS features,
       false AS capped
FROM (
    SELECT CASE WHEN c.n >= :suppress_below THEN c.n END AS count,
           CASE WHEN c.n >= :suppress_below THEN c.n::text
                ELSE '<' || CAST(:suppress_below AS text) END AS label,
           ST_AsMVTGeom(ST_TileEnvelope(:cz, c.cx, c.cy), b.tile, :extent, :buffer) AS geom
      FROM counted c CROSS JOIN bounds b
     WHERE c.cx >= :cx0 AND c.cx < :cx1 AND c.cy >= :cy0 AND c.cy < :cy1
) f
WHERE f.geom IS NOT NULL
