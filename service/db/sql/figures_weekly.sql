-- Referrals received and contacts observed per week (weeks start on Monday, Europe/London)
-- in [:start, :end), only what the caller may see (service/access.py), optionally one
-- authority or team: the console's weekly chart. Weeks with nothing are filled by the caller.
WITH records AS (
    SELECT 'referral' AS kind, received_at AS at, authority_code, team_id
      FROM referrals
     WHERE received_at >= :start AND received_at < :end
    UNION ALL
    SELECT 'contact', observed_at, authority_code, team_id
      FROM contacts
     WHERE observed_at >= :start AND observed_at < :end
)
SELECT CAST(date_trunc('week', at AT TIME ZONE 'Europe/London') AS date) AS week_start,
       count(*) FILTER (WHERE kind = 'referral') AS referrals,
       count(*) FILTER (WHERE kind = 'contact') AS contacts
  FROM records
 WHERE staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                     authority_code, team_id)
   AND (CAST(:authority AS text) IS NULL OR authority_code = :authority)
   AND (CAST(:team_id AS integer) IS NULL OR team_id = :team_id)
 GROUP BY 1
 ORDER BY 1
