-- Retention: delete the referrer's contact details of open referrals received before
-- :cutoff, and the outbox's copies of them (see retention_referrer_contacts_closed.sql).
WITH gone AS (
    DELETE FROM referrer_contacts rc
     USING referrals r
     WHERE r.id = rc.referral_id AND r.status <> 'closed' AND r.received_at < :cutoff
    RETURNING rc.referral_id
),
-- include: outbox_referrer_copies
SELECT count(*) FROM gone
