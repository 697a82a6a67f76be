-- Retention: move where workers searched for referrals closed before :cutoff to the centre
-- of its :grid_m square of the British National Grid.
WITH old AS (
    SELECT a.id, ST_Transform(a.geom, 27700) AS bng,
           ST_SnapToGrid(ST_Transform(a.geom, 27700),
                         :half_m, :half_m, :grid_m, :grid_m) AS cell
      FROM referral_attempts a JOIN referrals r ON r.id = a.referral_id
     WHERE r.status = 'closed' AND r.closed_at < :cutoff AND a.geom IS NOT NULL
),
moved AS (
    UPDATE referral_attempts a
       SET geom = ST_Transform(old.cell, 4326)
      FROM old
     WHERE a.id = old.id AND ST_Distance(old.bng, old.cell) > 0.01
    RETURNING 1
)
SELECT count(*) FROM moved
