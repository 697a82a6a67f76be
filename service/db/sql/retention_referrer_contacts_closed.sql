-- Retention: delete the referrer's contact details of referrals closed before :cutoff, and
-- the outbox's copies of them (address, status token); a message still waiting for them is
-- cancelled, as there is nobody to send it to any more.
WITH gone AS (
    DELETE FROM referrer_contacts rc
     USING referrals r
     WHERE r.id = rc.referral_id AND r.status = 'closed' AND r.closed_at < :cutoff
    RETURNING rc.referral_id
),
-- include: outbox_referrer_copies
SELECT count(*) FROM gone
