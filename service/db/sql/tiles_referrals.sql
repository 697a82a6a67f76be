-- Tile layer "referrals": referrals in the caller's scope received in the window, as points
-- with their status (no description: a click reads the referral, which is audited).
-- Points come from the stored Web Mercator copy (geom_mercator, GiST-indexed): no
-- per-point transform. At most :cap features; one more is fetched to tell whether the layer was capped.
-- Scope (as service.usecases.scope.can_see_referral): everything when :all; coordinators
-- their authorities and unrouted referrals; other roles their teams' referrals.
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_TileEnvelope(:z, :x, :y, margin => :margin) AS query
), picked AS (
    SELECT r.id::text AS id, r.reference, r.status, r.outcome, r.urgent, r.team_id,
           r.authority_code, r.attempts,
           to_char(r.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS received_at,
           ST_AsMVTGeom(r.geom_mercator, b.tile, :extent, :buffer) AS geom
      FROM referrals r
     CROSS JOIN bounds b
     WHERE r.geom_mercator && b.query
       AND r.received_at >= :since AND r.received_at < :until
       AND (CAST(:all AS boolean)
            OR (CAST(:coordinator AS boolean)
                AND (r.authority_code IS NULL OR r.authority_code = ANY(:codes)))
            OR (NOT CAST(:coordinator AS boolean) AND r.team_id = ANY(:teams)))
     LIMIT :cap + 1
)
SELECT (SELECT ST_AsMVT(f, 'referrals', :extent, 'geom')
          FROM (SELECT * FROM picked LIMIT :cap) f) AS mvt,
       least(count(*), :cap) AS features,
       count(*) > :cap AS capped
FROM picked
