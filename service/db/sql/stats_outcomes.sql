-- How the period's closed referrals ended, per authority and per team.
SELECT GROUPING(r.authority_code) = 0 AS by_authority,
       r.authority_code,
       r.team_id,
       r.outcome,
       count(*) AS n
  FROM referrals r
 WHERE r.received_at >= :start AND r.received_at < :end
   AND r.outcome IS NOT NULL
   AND (CAST(:authority AS text) IS NULL OR r.authority_code = :authority)
   AND (CAST(:team_id AS integer) IS NULL OR r.team_id = :team_id)
 GROUP BY GROUPING SETS ((r.authority_code, r.outcome), (r.team_id, r.outcome))
