-- Retention: delete rate-limit and throttle counters that expired before :now.
WITH gone AS (
    DELETE FROM kv_store WHERE expires_at IS NOT NULL AND expires_at < :now RETURNING 1
)
SELECT count(*) FROM gone
