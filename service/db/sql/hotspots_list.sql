-- Hotspots as GeoJSON-ready rows, filtered, in the caller's scope (service/access.py), as
-- the caller sees them (hotspots_seen.sql): the filters compare what the caller may see.
-- :id picks one hotspot (the detail view); NULL lists.
WITH
-- include: hotspots_seen
SELECT h.id, h.layer, h.status, h.member_count, h.core_count, h.referral_count,
       h.contact_count, h.bedded_down_count, h.first_activity_at, h.last_activity_at,
       h.authority_code, h.team_id, h.successor_id, h.hidden_members,
       ST_AsGeoJSON(h.centroid, 6) AS geometry, ST_AsGeoJSON(h.hull, 6) AS hull
FROM hotspots_seen h
WHERE (CAST(:id AS bigint) IS NULL OR h.id = :id)
  AND h.status = ANY(CAST(:statuses AS text[]))
  AND (CAST(:layer AS text) IS NULL OR h.layer = :layer)
  AND (CAST(:authority AS text) IS NULL OR h.authority_code = :authority)
  AND (CAST(:team AS integer) IS NULL OR h.team_id = :team)
  AND h.member_count >= :min_size
  AND (CAST(:active_since AS timestamptz) IS NULL OR h.last_at >= :active_since)
  AND (CAST(:bbox_w AS double precision) IS NULL
       OR h.centroid && ST_MakeEnvelope(:bbox_w, :bbox_s, :bbox_e, :bbox_n, 4326))
ORDER BY h.member_count DESC, h.id
LIMIT :limit
