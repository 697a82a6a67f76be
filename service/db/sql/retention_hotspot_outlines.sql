-- Retention: a retired hotspot last active before :cutoff keeps as centre the centre of its
-- :grid_m square of the British National Grid, and that square as its outline.
WITH old AS (
    SELECT id,
           ST_SnapToGrid(centroid_bng, :half_m, :half_m, :grid_m, :grid_m) AS cell
      FROM hotspots
     WHERE status = 'retired' AND last_activity_at < :cutoff
),
moved AS (
    UPDATE hotspots h
       SET centroid = ST_Transform(old.cell, 4326),
           hull = ST_Transform(ST_Expand(old.cell, :half_m), 4326)
      FROM old
     WHERE h.id = old.id AND ST_Distance(h.centroid_bng, old.cell) > 0.01
    RETURNING 1
)
SELECT count(*) FROM moved
