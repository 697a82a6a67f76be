-- One item's assignment, placed incrementally (service/usecases/assignments/incremental.py),
-- with the full shifts it skipped (:skip_teams, :skip_starts), in one statement: one round
-- trip a placement instead of an upsert, a delete and one insert a skipped shift.
WITH skips AS (
    SELECT DISTINCT team_id, shift_start
    FROM unnest(CAST(:skip_teams AS integer[]), CAST(:skip_starts AS timestamptz[]))
         AS u(team_id, shift_start)
),
stale AS (
    DELETE FROM assignment_skips k
    WHERE k.item_kind = :item_kind AND k.item_id = :item_id
      AND (k.team_id, k.shift_start) NOT IN (SELECT team_id, shift_start FROM skips)
),
skipped AS (
    INSERT INTO assignment_skips (item_kind, item_id, team_id, shift_start, priority)
    SELECT :item_kind, :item_id, team_id, shift_start, :priority FROM skips
    ON CONFLICT (item_kind, item_id, team_id, shift_start)
    DO UPDATE SET priority = EXCLUDED.priority
)
-- include: assignment_insert
ON CONFLICT (item_kind, item_id) DO UPDATE SET
    work_kind = EXCLUDED.work_kind, authority_code = EXCLUDED.authority_code,
    team_id = EXCLUDED.team_id, shift_start = EXCLUDED.shift_start,
    shift_end = EXCLUDED.shift_end, shift_index = EXCLUDED.shift_index, rule = EXCLUDED.rule,
    priority = EXCLUDED.priority, urgent = EXCLUDED.urgent, swep = EXCLUDED.swep,
    due_at = EXCLUDED.due_at, serve_at = EXCLUDED.serve_at, within_sla = EXCLUDED.within_sla,
    reasons = EXCLUDED.reasons, inputs = EXCLUDED.inputs, computed_at = EXCLUDED.computed_at, run_id = EXCLUDED.run_id
