-- Retention: move the position of contacts observed before :cutoff to the centre of its
-- :grid_m square of the British National Grid (the authority stays as recorded).
WITH old AS (
    SELECT id, ST_SnapToGrid(geom_bng, :half_m, :half_m, :grid_m, :grid_m) AS cell
      FROM contacts
     WHERE observed_at < :cutoff
),
moved AS (
    UPDATE contacts c
       SET geom = ST_Transform(old.cell, 4326),
           accuracy_m = GREATEST(c.accuracy_m, :accuracy_m)
      FROM old
     WHERE c.id = old.id AND ST_Distance(c.geom_bng, old.cell) > 0.01
    RETURNING 1
)
SELECT count(*) FROM moved
