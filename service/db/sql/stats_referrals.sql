-- Referral figures for a period, per authority and per team (GROUPING SETS).
-- A referral belongs to the period by received_at in [:start, :end). "Searched" referrals are
-- closed ones the service looked for (not merged as a duplicate, not forwarded out of area,
-- not closed by retention for lack of activity).
-- An SLA breach: the first action (a search or the closure) later than the end of the next
-- shift, or the outcome later than its due date (unfinished ones judged at :now).
WITH period AS (
    SELECT r.authority_code, r.team_id, r.received_at, r.outcome, r.closed_at,
           r.next_shift_due_at, r.outcome_due_at,
           (SELECT min(a.attempted_at) FROM referral_attempts a
             WHERE a.referral_id = r.id) AS first_attempt_at
      FROM referrals r
     WHERE r.received_at >= :start AND r.received_at < :end
       AND (CAST(:authority AS text) IS NULL OR r.authority_code = :authority)
       AND (CAST(:team_id AS integer) IS NULL OR r.team_id = :team_id)
)
SELECT GROUPING(authority_code) = 0 AS by_authority,
       authority_code,
       team_id,
       count(*) AS received,
       count(*) FILTER (WHERE outcome IS NOT NULL) AS closed,
       count(*) FILTER (WHERE outcome IS NOT NULL
                          AND outcome NOT IN ('duplicate_merged', 'out_of_area_forwarded',
                                          'closed_no_activity'))
           AS searched,
       count(*) FILTER (WHERE outcome IN ('found_engaged', 'found_accommodated',
                                          'found_declined', 'already_known',
                                          'found_not_rough_sleeping')) AS found,
       count(first_attempt_at) AS attempted,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM first_attempt_at - received_at) / 3600.0
       ) AS median_hours_to_first_attempt,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM closed_at - received_at) / 3600.0
       ) AS median_hours_to_outcome,
       count(*) FILTER (
           WHERE (next_shift_due_at IS NOT NULL
                  AND COALESCE(LEAST(first_attempt_at, closed_at), :now) > next_shift_due_at)
              OR COALESCE(closed_at, :now) > outcome_due_at
       ) AS sla_breaches
  FROM period
 GROUP BY GROUPING SETS ((authority_code), (team_id))
