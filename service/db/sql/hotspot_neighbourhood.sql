-- The points of one layer (in the window) within :reach_m of any of the new points, with
-- their stored hotspot membership: the neighbourhood an incremental insertion reads.
WITH fresh AS (
    SELECT geom_bng FROM referrals
    WHERE :layer = 'public_reports' AND id = ANY(CAST(:referral_ids AS uuid[]))
      AND geom_bng IS NOT NULL AND located_by IS DISTINCT FROM 'place'
    UNION ALL
    SELECT geom_bng FROM contacts
    WHERE :layer <> 'public_reports' AND id = ANY(CAST(:contact_ids AS uuid[]))
),
-- Each new point looks up its own neighbours (GiST on geom_bng); a shift-end burst of 12,000
-- points as one collection timed out, every stored point being measured against all of them.
points AS (
    SELECT DISTINCT ON (r.id) 'referral' AS kind, r.id, r.geom_bng, r.seen_at AS at
    FROM fresh f
    JOIN referrals r ON ST_DWithin(r.geom_bng, f.geom_bng, :reach_m)
    WHERE :layer = 'public_reports'
      AND NOT r.out_of_area AND r.outcome IS DISTINCT FROM 'duplicate_merged'
      AND r.located_by IS DISTINCT FROM 'place'
      AND r.seen_at > :since AND r.seen_at <= :until
    UNION ALL
    SELECT DISTINCT ON (c.id) 'contact', c.id, c.geom_bng, c.observed_at
    FROM fresh f
    JOIN contacts c ON ST_DWithin(c.geom_bng, f.geom_bng, :reach_m)
    WHERE (:layer = 'all_contacts' OR (:layer = 'verified_bedded_down' AND c.bedded_down))
      AND c.observed_at > :since AND c.observed_at <= :until
)
SELECT p.kind, p.id, ST_X(p.geom_bng) AS x, ST_Y(p.geom_bng) AS y,
       coalesce(m.hotspot_id, -1) AS hotspot_id, coalesce(m.core, false) AS core
FROM points p
LEFT JOIN hotspot_members m
    ON m.layer = :layer AND m.member_kind = p.kind AND m.member_id = p.id
