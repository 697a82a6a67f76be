-- Open referrals with a map pin in an authority: the referral work items (BNG metres).
SELECT r.id, r.urgent, r.authority_code, r.received_at, r.attempts, r.next_shift_due_at,
       r.outcome_due_at, ST_X(r.geom_bng) AS easting, ST_Y(r.geom_bng) AS northing
FROM referrals r
WHERE r.status <> 'closed' AND r.geom_bng IS NOT NULL AND r.authority_code IS NOT NULL
ORDER BY r.received_at, r.id
