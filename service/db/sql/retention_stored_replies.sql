-- Retention: delete stored answers to repeated requests made before :cutoff.
WITH gone AS (
    DELETE FROM idempotent_responses WHERE created_at < :cutoff RETURNING 1
)
SELECT count(*) FROM gone
