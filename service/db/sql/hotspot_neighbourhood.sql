-- The points of one layer (in the window) near the new points, with their stored hotspot
-- membership: the candidates of the neighbourhood an incremental insertion reads, and the new
-- points themselves as rows of kind 'centre'. ``service.db.hotspots.neighbourhood`` keeps the
-- candidates within :reach_m of a centre.
--
-- Candidates are the points in boxes, one for each grid cell (4 x :reach_m square) holding new
-- points: the box around them grown by :reach_m, each an index scan of its own. Every point
-- within :reach_m of a new point is in its cell's box, and a stored point is read by a few
-- boxes at most (in a dense town the boxes overlap by about a quarter) instead of once for
-- every new point near it. 3,000 new contacts in bench.ingest's dense towns: 314 boxes, 32,772
-- rows for 18,515 candidates, 69 ms (EXPLAIN ANALYZE on a quiet database). Under the floods:
-- * each new point looking up its own neighbours joined every pair: a fold of 600 contacts
--   joined 1.8 million pairs to find 20,000 points (0.4 s), and the folds fell a minute behind
--   the contact phase; the new points as one collection measured every stored point against
--   all of them (a shift-end burst of 12,000 timed out);
-- * one shape for all the boxes spanned the county when the new points were scattered and
--   read every point (67 ms a fold of 60 referrals, against 11 ms as boxes).
-- Each box's scan sits behind OFFSET 0, so the time window is filtered after it and can never
-- drive the scan instead: right after a flood the statistics still say few points are in the
-- window, and the planner read the window by ix_contacts_observed_at and matched every point of
-- it against every box (316 boxes x 34,650 points, 1.7 s a fold instead of 94 ms; the folds
-- then fell 20-30 s behind bench.ingest's contact phase). For the same reason each point's
-- stored membership is one probe of hotspot_members' primary key: estimating a few points, the
-- planner joined them to every member of the layer, materialised, pair by pair (30,000 x 30,000
-- under the contact flood: folds of 5,000 points ran into the 15 s statement timeout and were
-- dropped). Both are checked on stale statistics in tests/integration/test_hotspot_plans.py.
WITH fresh AS (
    SELECT geom_bng FROM referrals
    WHERE :layer = 'public_reports' AND id = ANY(CAST(:referral_ids AS uuid[]))
      AND geom_bng IS NOT NULL AND located_by IS DISTINCT FROM 'place'
    UNION ALL
    SELECT geom_bng FROM contacts
    WHERE :layer <> 'public_reports' AND id = ANY(CAST(:contact_ids AS uuid[]))
),
cells AS MATERIALIZED (
    SELECT ST_Expand(ST_Envelope(ST_Collect(geom_bng)), :reach_m) AS box
    FROM fresh
    GROUP BY floor(ST_X(geom_bng) / (4 * :reach_m)), floor(ST_Y(geom_bng) / (4 * :reach_m))
),
points AS (
    SELECT DISTINCT ON (r.id) 'referral' AS kind, r.id, r.geom_bng
    FROM cells a
    CROSS JOIN LATERAL (
        SELECT id, geom_bng, out_of_area, outcome, located_by, seen_at FROM referrals
        WHERE geom_bng && a.box
        OFFSET 0  -- the box alone reaches the scan: see the note above
    ) r
    WHERE :layer = 'public_reports'
      AND NOT r.out_of_area AND r.outcome IS DISTINCT FROM 'duplicate_merged'
      AND r.located_by IS DISTINCT FROM 'place'
      AND r.seen_at > :since AND r.seen_at <= :until
    UNION ALL
    SELECT DISTINCT ON (c.id) 'contact', c.id, c.geom_bng
    FROM cells a
    CROSS JOIN LATERAL (
        SELECT id, geom_bng, bedded_down, observed_at FROM contacts
        WHERE geom_bng && a.box
        OFFSET 0
    ) c
    WHERE (:layer = 'all_contacts' OR (:layer = 'verified_bedded_down' AND c.bedded_down))
      AND c.observed_at > :since AND c.observed_at <= :until
)
-- One row of arrays, decoded by the driver, not tens of thousands of rows made one by one in
-- Python (a dense town's fold reads 30,000 candidates; their rows cost more app CPU than the
-- clustering of them).
SELECT array_agg(h.kind) AS kinds, array_agg(h.id) AS ids, array_agg(h.x) AS xs,
       array_agg(h.y) AS ys, array_agg(h.hotspot_id) AS hotspots, array_agg(h.core) AS cores
FROM (
    SELECT CAST(p.kind AS varchar) AS kind, p.id, ST_X(p.geom_bng) AS x, ST_Y(p.geom_bng) AS y,
           coalesce(m.hotspot_id, -1) AS hotspot_id, coalesce(m.core, false) AS core
    FROM points p
    LEFT JOIN LATERAL (
        SELECT hotspot_id, core FROM hotspot_members
        WHERE layer = :layer AND member_kind = p.kind AND member_id = p.id
        LIMIT 1  -- one probe of the primary key a point: see the note above
    ) m ON true
    UNION ALL
    SELECT 'centre', NULL, ST_X(geom_bng), ST_Y(geom_bng), -1, false
    FROM fresh
) h
