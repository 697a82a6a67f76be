-- Every point of one hotspot layer inside the window (since, until], in BNG metres.
-- public_reports: referrals with a position in Greater Essex, not merged as duplicates, not
-- placed from a place name (a town's or street's centre is no place where people sleep);
-- verified_bedded_down: contacts where the person was seen bedded down; all_contacts: all.
SELECT 'referral' AS kind, r.id, ST_X(r.geom_bng) AS x, ST_Y(r.geom_bng) AS y,
       r.seen_at AS at, false AS bedded_down
FROM referrals r
WHERE :layer = 'public_reports'
  AND r.geom_bng IS NOT NULL AND NOT r.out_of_area
  AND r.outcome IS DISTINCT FROM 'duplicate_merged'
  AND r.located_by IS DISTINCT FROM 'place'
  AND r.seen_at > :since AND r.seen_at <= :until
UNION ALL
SELECT 'contact', c.id, ST_X(c.geom_bng), ST_Y(c.geom_bng), c.observed_at, c.bedded_down
FROM contacts c
WHERE (:layer = 'all_contacts' OR (:layer = 'verified_bedded_down' AND c.bedded_down))
  AND c.observed_at > :since AND c.observed_at <= :until
