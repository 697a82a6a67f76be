-- The points of one layer (in the window) near the new points, with their stored hotspot
-- membership: the candidates of the neighbourhood an incremental insertion reads, and the new
-- points themselves as rows of kind 'centre'. ``service.db.hotspots.neighbourhood`` keeps the
-- candidates within :reach_m of a centre.
--
-- Candidates are the points inside the grid cells (:reach_m squares) that hold a new point,
-- each cell grown by :reach_m, as one shape: every point within :reach_m of a new point is in
-- it, and each stored point is read once. Looking up each new point's own neighbours joined
-- every pair: in a dense town a fold of 600 contacts joined 1.8 million pairs to find 20,000
-- points (0.4 s a fold, and folds fell a minute behind bench.ingest's contact phase); the new
-- points as one collection measured every stored point against all of them (a shift-end
-- burst of 12,000 timed out).
WITH fresh AS (
    SELECT geom_bng FROM referrals
    WHERE :layer = 'public_reports' AND id = ANY(CAST(:referral_ids AS uuid[]))
      AND geom_bng IS NOT NULL AND located_by IS DISTINCT FROM 'place'
    UNION ALL
    SELECT geom_bng FROM contacts
    WHERE :layer <> 'public_reports' AND id = ANY(CAST(:contact_ids AS uuid[]))
),
area AS MATERIALIZED (
    SELECT ST_Union(ST_Expand(ST_MakeEnvelope(
               cx * :reach_m, cy * :reach_m, (cx + 1) * :reach_m, (cy + 1) * :reach_m, 27700),
           :reach_m)) AS geom
    FROM (SELECT DISTINCT floor(ST_X(geom_bng) / :reach_m) AS cx,
                          floor(ST_Y(geom_bng) / :reach_m) AS cy
          FROM fresh) AS cells
),
points AS (
    SELECT 'referral' AS kind, r.id, r.geom_bng
    FROM area a
    JOIN referrals r ON ST_Intersects(r.geom_bng, a.geom)
    WHERE :layer = 'public_reports'
      AND NOT r.out_of_area AND r.outcome IS DISTINCT FROM 'duplicate_merged'
      AND r.located_by IS DISTINCT FROM 'place'
      AND r.seen_at > :since AND r.seen_at <= :until
    UNION ALL
    SELECT 'contact', c.id, c.geom_bng
    FROM area a
    JOIN contacts c ON ST_Intersects(c.geom_bng, a.geom)
    WHERE (:layer = 'all_contacts' OR (:layer = 'verified_bedded_down' AND c.bedded_down))
      AND c.observed_at > :since AND c.observed_at <= :until
)
SELECT p.kind, p.id, ST_X(p.geom_bng) AS x, ST_Y(p.geom_bng) AS y,
       coalesce(m.hotspot_id, -1) AS hotspot_id, coalesce(m.core, false) AS core
FROM points p
LEFT JOIN hotspot_members m
    ON m.layer = :layer AND m.member_kind = p.kind AND m.member_id = p.id
UNION ALL
SELECT 'centre', NULL, ST_X(geom_bng), ST_Y(geom_bng), -1, false
FROM fresh
