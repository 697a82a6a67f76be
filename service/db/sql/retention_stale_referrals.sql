-- Retention: close open referrals with no activity since :cutoff as `closed_no_activity`.
-- Activity: receipt, a search, a staff action (an event by anyone but the system) or a
-- contact recorded against it. The closure is an event and enters its team's change feed,
-- as any closure does. How many were closed.
WITH activity AS (
    SELECT r.id, r.team_id,
           GREATEST(r.received_at,
                    (SELECT max(a.attempted_at) FROM referral_attempts a
                      WHERE a.referral_id = r.id),
                    (SELECT max(e.at) FROM referral_events e
                      WHERE e.referral_id = r.id AND e.actor <> 'system'),
                    (SELECT max(c.observed_at) FROM contacts c
                      WHERE c.referral_id = r.id)) AS last_at
      FROM referrals r
     WHERE r.status <> 'closed' AND r.received_at < :cutoff
),
closed AS (
    UPDATE referrals r
       SET status = 'closed', outcome = 'closed_no_activity', closed_at = :now, updated_at = :now
      FROM activity
     WHERE r.id = activity.id AND activity.last_at < :cutoff
    RETURNING r.id, r.team_id
),
events AS (
    INSERT INTO referral_events (referral_id, at, kind, actor, data)
    SELECT id, CAST(:now AS timestamptz), 'closed', 'retention',
           jsonb_build_object('outcome', 'closed_no_activity')
      FROM closed
),
feed AS (
    INSERT INTO changes (team_id, kind, entity_id, data)
    SELECT team_id, 'referral_closed', CAST(id AS text),
           jsonb_build_object('outcome', 'closed_no_activity')
      FROM closed
)
SELECT count(*) FROM closed
