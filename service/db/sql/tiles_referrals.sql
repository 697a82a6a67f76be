-- Tile layer "referrals": referrals in the caller's scope received in the window, as points
-- with their status (no description: a click reads the referral, which is audited).
-- Points come from the stored Web Mercator copy (geom_mercator, GiST-indexed): no
-- per-point transform. At most :cap features; one more is fetched to tell whether the layer was capped.
-- Scope: service/access.py (staff_may_see).
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
       AND staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                         r.authority_code, r.team_id)
     LIMIT :cap + 1
)
SELECT (SELECT ST_AsMVT(f, 'referrals', :extent, 'geom')
          FROM (SELECT * FROM picked LIMIT :cap) f) AS mvt,
       least(count(*), :cap) AS features,
       count(*) > :cap AS capped
FROM picked
