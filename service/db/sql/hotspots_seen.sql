-- Hotspots as one caller sees them: a fragment of a WITH list (no WITH, no trailing comma),
-- included by hotspots_list.sql and tiles_hotspots.sql (`-- include: hotspots_seen`), reading
-- the scope parameters of service/access.py. service/usecases/hotspots/views.py says why.
--
-- hotspots_seen has one row per hotspot in the caller's scope: the stored summary when the
-- caller may see every member; otherwise a summary of only the members they may see, coarse:
-- the centre of the 1 km British National Grid square holding their centroid (none when no
-- member is visible), no hull, first and last activity truncated to the UTC day, counts of
-- the visible members; member_count stays the total and hidden_members is the rest.
-- first_at and last_at are the exact times the filters compare (stored, or of the visible
-- members only). A retired hotspot no longer knows its members: for anyone but an
-- administrator all its members count as hidden.
seen_members AS (
    SELECT m.hotspot_id, m.core, 'referral' AS kind, false AS bedded_down,
           r.geom_bng AS g, r.seen_at AS at,
           staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                         r.authority_code, r.team_id) AS visible
      FROM hotspot_members m
      JOIN hotspots mh ON mh.id = m.hotspot_id
      JOIN referrals r ON r.id = m.member_id
     WHERE m.member_kind = 'referral' AND NOT CAST(:scope_all AS boolean)
       AND staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                         mh.authority_code, mh.team_id)
    UNION ALL
    SELECT m.hotspot_id, m.core, 'contact', c.bedded_down, c.geom_bng, c.observed_at,
           staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                         c.authority_code, c.team_id)
      FROM hotspot_members m
      JOIN hotspots mh ON mh.id = m.hotspot_id
      JOIN contacts c ON c.id = m.member_id
     WHERE m.member_kind = 'contact' AND NOT CAST(:scope_all AS boolean)
       AND staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                         mh.authority_code, mh.team_id)
),
seen_summary AS (
    SELECT hotspot_id,
           count(*) FILTER (WHERE NOT visible) AS hidden,
           count(*) FILTER (WHERE visible AND core) AS core_count,
           count(*) FILTER (WHERE visible AND kind = 'referral') AS referral_count,
           count(*) FILTER (WHERE visible AND kind = 'contact') AS contact_count,
           count(*) FILTER (WHERE visible AND bedded_down) AS bedded_down_count,
           min(at) FILTER (WHERE visible) AS first_at,
           max(at) FILTER (WHERE visible) AS last_at,
           ST_Centroid(ST_Collect(g) FILTER (WHERE visible)) AS centre_bng
      FROM seen_members
     GROUP BY hotspot_id
),
hotspots_seen AS (
    SELECT h.id, h.layer, h.status, h.member_count, h.authority_code, h.team_id,
           h.successor_id, k.hidden AS hidden_members,
           CASE WHEN k.hidden = 0 THEN h.core_count ELSE coalesce(s.core_count, 0) END
               AS core_count,
           CASE WHEN k.hidden = 0 THEN h.referral_count ELSE coalesce(s.referral_count, 0) END
               AS referral_count,
           CASE WHEN k.hidden = 0 THEN h.contact_count ELSE coalesce(s.contact_count, 0) END
               AS contact_count,
           CASE WHEN k.hidden = 0 THEN h.bedded_down_count
                ELSE coalesce(s.bedded_down_count, 0) END AS bedded_down_count,
           CASE WHEN k.hidden = 0 THEN h.first_activity_at ELSE s.first_at END AS first_at,
           CASE WHEN k.hidden = 0 THEN h.last_activity_at ELSE s.last_at END AS last_at,
           CASE WHEN k.hidden = 0 THEN h.first_activity_at
                ELSE date_trunc('day', s.first_at, 'UTC') END AS first_activity_at,
           CASE WHEN k.hidden = 0 THEN h.last_activity_at
                ELSE date_trunc('day', s.last_at, 'UTC') END AS last_activity_at,
           CASE WHEN k.hidden = 0 THEN h.centroid
                ELSE ST_Transform(ST_SetSRID(ST_MakePoint(
                         (floor(ST_X(s.centre_bng) / 1000) + 0.5) * 1000,
                         (floor(ST_Y(s.centre_bng) / 1000) + 0.5) * 1000), 27700), 4326)
           END AS centroid,
           CASE WHEN k.hidden = 0 THEN h.hull END AS hull
      FROM hotspots h
      LEFT JOIN seen_summary s ON s.hotspot_id = h.id
     CROSS JOIN LATERAL (
           SELECT CASE WHEN CAST(:scope_all AS boolean) THEN 0
                       WHEN h.status <> 'active' THEN h.member_count
                       ELSE coalesce(s.hidden, 0) END AS hidden
     ) k
     WHERE staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                         h.authority_code, h.team_id)
)
