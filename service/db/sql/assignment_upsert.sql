-- One item's assignment, placed incrementally (service/usecases/assignments/incremental.py).
-- include: assignment_insert
ON CONFLICT (item_kind, item_id) DO UPDATE SET
    work_kind = EXCLUDED.work_kind, authority_code = EXCLUDED.authority_code,
    team_id = EXCLUDED.team_id, shift_start = EXCLUDED.shift_start,
    shift_end = EXCLUDED.shift_end, shift_index = EXCLUDED.shift_index, rule = EXCLUDED.rule,
    priority = EXCLUDED.priority, urgent = EXCLUDED.urgent, swep = EXCLUDED.swep,
    due_at = EXCLUDED.due_at, serve_at = EXCLUDED.serve_at, within_sla = EXCLUDED.within_sla,
    reasons = EXCLUDED.reasons, inputs = EXCLUDED.inputs, computed_at = EXCLUDED.computed_at, run_id = EXCLUDED.run_id
