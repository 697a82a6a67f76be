-- Retention: delete the referrer's contact details of open referrals received before :cutoff.
WITH gone AS (
    DELETE FROM referrer_contacts rc
     USING referrals r
     WHERE r.id = rc.referral_id AND r.status <> 'closed' AND r.received_at < :cutoff
    RETURNING 1
)
SELECT count(*) FROM gone
