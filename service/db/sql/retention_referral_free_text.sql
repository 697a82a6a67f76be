-- Retention: erase the free text (and postcode) of referrals closed before :cutoff, and the
-- notes coordinators left in their history (where they placed it, where it was forwarded).
WITH erased AS (
    UPDATE referrals
       SET location_description = NULL, appearance = NULL, clothing = NULL,
           belongings = NULL, postcode = NULL
     WHERE status = 'closed' AND closed_at < :cutoff
       AND (location_description IS NOT NULL OR appearance IS NOT NULL
            OR clothing IS NOT NULL OR belongings IS NOT NULL OR postcode IS NOT NULL)
    RETURNING 1
),
event_notes AS (
    UPDATE referral_events e
       SET data = e.data - 'note' - 'forwarded_to'
      FROM referrals r
     WHERE r.id = e.referral_id AND r.status = 'closed' AND r.closed_at < :cutoff
       AND (e.data ? 'note' OR e.data ? 'forwarded_to')
    RETURNING 1
)
SELECT count(*) FROM erased
