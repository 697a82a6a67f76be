-- Hotspots as GeoJSON-ready rows, filtered, in the caller's scope (service/access.py).
SELECT h.id, h.layer, h.status, h.member_count, h.core_count, h.referral_count,
       h.contact_count, h.bedded_down_count, h.first_activity_at, h.last_activity_at,
       h.authority_code, h.team_id, h.successor_id,
       ST_AsGeoJSON(h.centroid, 6) AS geometry, ST_AsGeoJSON(h.hull, 6) AS hull
FROM hotspots h
WHERE h.status = ANY(CAST(:statuses AS text[]))
  AND (CAST(:layer AS text) IS NULL OR h.layer = :layer)
  AND (CAST(:authority AS text) IS NULL OR h.authority_code = :authority)
  AND (CAST(:team AS integer) IS NULL OR h.team_id = :team)
  AND h.member_count >= :min_size
  AND (CAST(:active_since AS timestamptz) IS NULL OR h.last_activity_at >= :active_since)
  AND (CAST(:bbox_w AS double precision) IS NULL
       OR h.centroid && ST_MakeEnvelope(:bbox_w, :bbox_s, :bbox_e, :bbox_n, 4326))
  AND staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                    h.authority_code, h.team_id)
ORDER BY h.member_count DESC, h.id
LIMIT :limit
