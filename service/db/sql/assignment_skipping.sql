-- The items after :priority that skipped one full shift, in priority order: when a place on it
-- frees up, the first that prefers it takes it (ix_assignment_skips_team_id_shift_start_priority).
SELECT item_kind, item_id, priority
FROM assignment_skips
WHERE team_id = :team_id AND shift_start = :shift_start AND priority > :priority
ORDER BY priority
LIMIT :limit
