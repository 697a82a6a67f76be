-- A team's assigned visits on one shift, with what to look for and where (BNG and WGS84),
-- only those the caller may see (service/access.py: the assignment's authority and team).
SELECT a.item_kind, a.item_id, a.work_kind,
       row_number() OVER (ORDER BY a.priority) - 1 AS rank, a.urgent, a.swep, a.rule, a.due_at,
       r.id AS referral_id, r.reference, r.location_description, r.appearance, r.clothing,
       r.belongings, r.site_type, r.gender, r.age_band, r.people_count, r.seen_at,
       r.seen_time_band, r.status AS referral_status, r.attempts,
       h.id AS hotspot_id, h.layer, h.member_count, h.referral_count, h.contact_count,
       h.bedded_down_count, h.last_activity_at,
       ST_X(COALESCE(r.geom_bng, h.centroid_bng)) AS easting,
       ST_Y(COALESCE(r.geom_bng, h.centroid_bng)) AS northing,
       ST_X(COALESCE(r.geom, h.centroid)) AS lon, ST_Y(COALESCE(r.geom, h.centroid)) AS lat
FROM assignments a
LEFT JOIN referrals r
       ON r.id = CASE WHEN a.item_kind = 'referral' THEN CAST(a.item_id AS uuid) END
LEFT JOIN hotspots h
       ON h.id = CASE WHEN a.item_kind = 'hotspot' THEN CAST(a.item_id AS bigint) END
WHERE a.team_id = :team_id AND a.shift_start = :shift_start
  AND COALESCE(r.geom_bng, h.centroid_bng) IS NOT NULL
  AND staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                    a.authority_code, a.team_id)
ORDER BY a.priority
