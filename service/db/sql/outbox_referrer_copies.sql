-- (a fragment: the CTE after ``gone (referral_id)`` in the referrer-contact retention rows)
outbox_copies AS (
    UPDATE outbox_messages o
       SET address = NULL, params = o.params - 'token', updated_at = now(),
           state = CASE WHEN o.state IN ('queued', 'dead') THEN 'cancelled' ELSE o.state END,
           last_error = CASE WHEN o.state IN ('queued', 'dead') THEN 'retention: address deleted'
                             ELSE o.last_error END
      FROM gone
     WHERE o.referral_id = gone.referral_id AND o.recipient_key = 'referrer'
)
