-- Tile layer "contacts": outreach contacts in the caller's scope observed in the window, as
-- points (no notes, no special-category data: a click reads the contact, which is audited).
-- Points come from the stored Web Mercator copy (geom_mercator, GiST-indexed): no
-- per-point transform. At most :cap features; one more is fetched to tell whether the layer was capped.
-- Scope: service/access.py (staff_may_see).
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
           ST_TileEnvelope(:z, :x, :y, margin => :margin) AS query
), picked AS (
    SELECT c.id::text AS id, c.team_id, c.authority_code, c.bedded_down, c.contact_type,
           c.engagement,
           to_char(c.observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS observed_at,
           ST_AsMVTGeom(c.geom_mercator, b.tile, :extent, :buffer) AS geom
      FROM contacts c
     CROSS JOIN bounds b
     WHERE c.geom_mercator && b.query
       AND c.observed_at >= :since AND c.observed_at < :until
       AND staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                         c.authority_code, c.team_id)
     LIMIT :cap + 1
)
SELECT (SELECT ST_AsMVT(f, 'contacts', :extent, 'geom')
          FROM (SELECT * FROM picked LIMIT :cap) f) AS mvt,
       least(count(*), :cap) AS features,
       count(*) > :cap AS capped
FROM picked
