-- Visits of the given teams' shifts taken by items of higher priority than :priority
-- (ix_assignments_team_id_shift_start_priority: bounded by the teams' capacity, not the backlog).
SELECT team_id, shift_start, count(*) AS n
FROM assignments
WHERE team_id = ANY(CAST(:team_ids AS integer[])) AND priority < :priority
GROUP BY team_id, shift_start
