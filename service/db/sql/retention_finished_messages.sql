-- Retention: delete outbox messages delivered, cancelled or given up before :cutoff (queued
-- ones stay: they still have to go).
WITH gone AS (
    DELETE FROM outbox_messages
     WHERE state IN ('sent', 'cancelled', 'dead') AND updated_at < :cutoff
    RETURNING 1
)
SELECT count(*) FROM gone
