-- Recompute the summary of the given hotspots from their members: counts per source,
-- activity span, centroid and convex hull (in BNG, stored as WGS84), authority and team.
-- A team keeps a hotspot while it still covers the hotspot's authority (stable assignment).
WITH pts AS (
    SELECT m.hotspot_id, m.core, 'referral' AS kind, false AS bedded_down,
           r.geom_bng AS g, r.seen_at AS at
    FROM hotspot_members m JOIN referrals r ON r.id = m.member_id
    WHERE m.member_kind = 'referral' AND m.hotspot_id = ANY(CAST(:ids AS bigint[]))
    UNION ALL
    SELECT m.hotspot_id, m.core, 'contact', c.bedded_down, c.geom_bng, c.observed_at
    FROM hotspot_members m JOIN contacts c ON c.id = m.member_id
    WHERE m.member_kind = 'contact' AND m.hotspot_id = ANY(CAST(:ids AS bigint[]))
),
summary AS (
    SELECT hotspot_id,
           count(*) AS member_count,
           count(*) FILTER (WHERE core) AS core_count,
           count(*) FILTER (WHERE kind = 'referral') AS referral_count,
           count(*) FILTER (WHERE kind = 'contact') AS contact_count,
           count(*) FILTER (WHERE bedded_down) AS bedded_down_count,
           min(at) AS first_at, max(at) AS last_at,
           ST_Transform(ST_Centroid(ST_Collect(g)), 4326) AS centroid,
           ST_Transform(ST_ConvexHull(ST_Collect(g)), 4326) AS hull
    FROM pts GROUP BY hotspot_id
),
placed AS (
    SELECT s.*,
           (SELECT a.code FROM authority_parts p
              JOIN authorities a ON a.id = p.authority_id
              JOIN boundary_versions v ON v.id = a.version_id AND v.is_current
             WHERE ST_Covers(p.geom, s.centroid) ORDER BY a.code LIMIT 1) AS authority_code
    FROM summary s
)
UPDATE hotspots h SET
    member_count = p.member_count, core_count = p.core_count,
    referral_count = p.referral_count, contact_count = p.contact_count,
    bedded_down_count = p.bedded_down_count,
    first_activity_at = p.first_at, last_activity_at = p.last_at,
    centroid = p.centroid, hull = p.hull,
    authority_code = p.authority_code,
    team_id = CASE
        WHEN h.team_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM team_areas ta JOIN teams t ON t.id = ta.team_id
            WHERE ta.team_id = h.team_id AND ta.authority_code = p.authority_code AND t.active)
        THEN h.team_id
        ELSE (SELECT t.id FROM team_areas ta JOIN teams t ON t.id = ta.team_id
              WHERE ta.authority_code = p.authority_code AND t.active
              ORDER BY ST_Distance(t.base_bng, ST_Transform(p.centroid, 27700)), t.id LIMIT 1)
    END,
    updated_at = now()
FROM placed p
WHERE h.id = p.hotspot_id
