-- How many items one shift holds, and the one of lowest priority (displaced when over capacity).
SELECT item_kind, item_id, priority, count(*) OVER () AS n
FROM assignments
WHERE team_id = :team_id AND shift_start = :shift_start
ORDER BY priority DESC
LIMIT 1
