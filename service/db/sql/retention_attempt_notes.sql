-- Retention: erase workers' notes on searches for referrals closed before :cutoff.
WITH erased AS (
    UPDATE referral_attempts a
       SET note = NULL
      FROM referrals r
     WHERE r.id = a.referral_id AND r.status = 'closed' AND r.closed_at < :cutoff
       AND a.note IS NOT NULL
    RETURNING 1
)
SELECT count(*) FROM erased
