-- Some referrals as work items (as assignment_open_referrals), by id: those still open work.
SELECT r.id, r.urgent, r.authority_code, r.received_at, r.attempts, r.next_shift_due_at,
       r.outcome_due_at, ST_X(r.geom_bng) AS easting, ST_Y(r.geom_bng) AS northing
FROM referrals r
WHERE r.id = ANY(CAST(:ids AS uuid[]))
  AND r.status <> 'closed' AND r.geom_bng IS NOT NULL AND r.authority_code IS NOT NULL
