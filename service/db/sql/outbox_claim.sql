-- Claim due messages: the row locks are held by the claiming transaction until it has sent
-- them and recorded the result, and SKIP LOCKED lets other senders (any process) take other
-- rows meanwhile. A push row comes with its subscription's keys (null: unregistered).
SELECT o.id, o.message_key, o.recipient_key, o.template, o.channel, o.referral_id, o.team_id,
       o.address, o.params, o.attempts, o.created_at,
       s.id AS subscription_id, s.endpoint, s.p256dh, s.auth
FROM outbox_messages o
LEFT JOIN push_subscriptions s ON s.id = o.subscription_id
WHERE o.state = 'queued' AND o.next_attempt_at <= now()
  AND (CAST(:channels AS text[]) IS NULL OR o.channel = ANY(CAST(:channels AS text[])))
ORDER BY o.next_attempt_at, o.id
LIMIT :limit
FOR UPDATE OF o SKIP LOCKED
