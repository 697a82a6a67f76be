-- Tile layer of grid cells counted elsewhere (usecases/tiles/render.py works out each cell's
-- count, suppressed or not): :cx, :cy (cells, the tiles of zoom :cz), :authority (the
-- authority each is counted for, '' for none), :counts (NULL where suppressed) and :labels,
-- as arrays of the same length. :month names the calendar month counted; ``cell`` names the
-- grid cell (its pieces in neighbouring tiles share it: the map labels each cell once).
SELECT ST_AsMVT(f, CAST(:layer_name AS text), :extent, 'geom') AS mvt, count(*) AS features,
       false AS capped
FROM (
    SELECT c.n AS count, c.label, c.authority, CAST(:month AS text) AS month,
           CAST(c.cx AS text) || '/' || CAST(c.cy AS text) AS cell,
           ST_AsMVTGeom(ST_TileEnvelope(:cz, c.cx, c.cy), ST_TileEnvelope(:z, :x, :y),
                        :extent, :buffer) AS geom
      FROM unnest(CAST(:cx AS int[]), CAST(:cy AS int[]), CAST(:authority AS text[]),
                  CAST(:counts AS int[]), CAST(:labels AS text[]))
           AS c(cx, cy, authority, n, label)
) f
WHERE f.geom IS NOT NULL
