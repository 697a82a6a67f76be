-- Tile layer "hotspots": active hotspots in the caller's scope with activity in the window,
-- as their centres with the counts the map sizes them by (largest first, at most :cap), as
-- the caller sees them (hotspots_seen.sql: coarse, or left out when the caller may see
-- none of the members). Scope: service/access.py (staff_may_see).
WITH
-- include: hotspots_seen
, bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS query
), picked AS (
    SELECT h.id, h.layer, h.member_count, h.core_count, h.referral_count, h.contact_count,
           h.bedded_down_count, h.hidden_members, h.team_id, h.authority_code,
           to_char(h.first_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
               AS first_activity_at,
           to_char(h.last_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
               AS last_activity_at,
           ST_AsMVTGeom(ST_Transform(h.centroid, 3857), b.tile, :extent, :buffer) AS geom
      FROM hotspots_seen h
     CROSS JOIN bounds b
     WHERE h.centroid && b.query
       AND h.status = 'active'
       AND h.last_at >= :since AND h.first_at < :until
     ORDER BY h.member_count DESC, h.id
     LIMIT :cap + 1
)
SELECT (SELECT ST_AsMVT(f, 'hotspots', :extent, 'geom')
          FROM (SELECT * FROM picked ORDER BY member_count DESC, id LIMIT :cap) f) AS mvt,
       least(count(*), :cap) AS features,
       count(*) > :cap AS capped
FROM picked
