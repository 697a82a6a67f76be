-- Retention: move the position of referrals closed before :cutoff to the centre of its
-- :grid_m square of the British National Grid (geom_bng and geom_mercator follow: they are
-- generated). A point already on a centre is left alone, so a second run changes nothing.
WITH old AS (
    SELECT id, ST_SnapToGrid(geom_bng, :half_m, :half_m, :grid_m, :grid_m) AS cell
      FROM referrals
     WHERE status = 'closed' AND closed_at < :cutoff AND geom IS NOT NULL
),
moved AS (
    UPDATE referrals r
       SET geom = ST_Transform(old.cell, 4326),
           accuracy_m = GREATEST(r.accuracy_m, :accuracy_m)
      FROM old
     WHERE r.id = old.id AND ST_Distance(r.geom_bng, old.cell) > 0.01
    RETURNING 1
)
SELECT count(*) FROM moved
