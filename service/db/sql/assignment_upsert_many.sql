-- Items' assignments placed incrementally (service/usecases/assignments/incremental.py), each
-- inserted or replaced with the full shifts it skipped (its old skips that it no longer skips
-- are deleted), all in one statement over arrays: each parameter is the array of one column's
-- values, and no item comes twice. Run once an item through executemany, a pass's flush cost
-- 0.39 ms of database time a referral under bench.ingest's flood with 20,000 open, and 0.27 ms
-- as one statement (pg_stat_statements, 20 s each).
WITH placed AS (
    SELECT *
    FROM unnest(CAST(:item_kind AS varchar[]), CAST(:item_id AS varchar[]),
                CAST(:work_kind AS varchar[]), CAST(:authority_code AS varchar[]),
                CAST(:team_id AS integer[]), CAST(:shift_start AS timestamptz[]),
                CAST(:shift_end AS timestamptz[]), CAST(:shift_index AS smallint[]),
                CAST(:rule AS varchar[]), CAST(:priority AS varchar[]),
                CAST(:urgent AS boolean[]), CAST(:swep AS boolean[]),
                CAST(:due_at AS timestamptz[]), CAST(:serve_at AS timestamptz[]),
                CAST(:within_sla AS boolean[]), CAST(:reasons AS jsonb[]),
                CAST(:inputs AS jsonb[]), CAST(:computed_at AS timestamptz[]),
                CAST(:run_id AS bigint[]))
         AS u(item_kind, item_id, work_kind, authority_code, team_id, shift_start, shift_end,
              shift_index, rule, priority, urgent, swep, due_at, serve_at, within_sla, reasons,
              inputs, computed_at, run_id)
),
skips AS (
    SELECT DISTINCT item_kind, item_id, team_id, shift_start, priority
    FROM unnest(CAST(:skip_item_kind AS varchar[]), CAST(:skip_item_id AS varchar[]),
                CAST(:skip_team_id AS integer[]), CAST(:skip_shift_start AS timestamptz[]),
                CAST(:skip_priority AS varchar[]))
         AS s(item_kind, item_id, team_id, shift_start, priority)
),
stale AS (
    DELETE FROM assignment_skips k
    USING placed p
    WHERE k.item_kind = p.item_kind AND k.item_id = p.item_id
      AND NOT EXISTS (SELECT 1 FROM skips s
                      WHERE s.item_kind = k.item_kind AND s.item_id = k.item_id
                        AND s.team_id = k.team_id AND s.shift_start = k.shift_start)
),
skipped AS (
    INSERT INTO assignment_skips (item_kind, item_id, team_id, shift_start, priority)
    SELECT item_kind, item_id, team_id, shift_start, priority FROM skips
    ON CONFLICT (item_kind, item_id, team_id, shift_start)
    DO UPDATE SET priority = EXCLUDED.priority
)
INSERT INTO assignments (item_kind, item_id, work_kind, authority_code, team_id, shift_start,
                         shift_end, shift_index, rule, priority, urgent, swep, due_at, serve_at,
                         within_sla, reasons, inputs, computed_at, run_id)
SELECT item_kind, item_id, work_kind, authority_code, team_id, shift_start, shift_end,
       shift_index, rule, priority, urgent, swep, due_at, serve_at, within_sla, reasons, inputs,
       computed_at, run_id
FROM placed
ON CONFLICT (item_kind, item_id) DO UPDATE SET
    work_kind = EXCLUDED.work_kind, authority_code = EXCLUDED.authority_code,
    team_id = EXCLUDED.team_id, shift_start = EXCLUDED.shift_start,
    shift_end = EXCLUDED.shift_end, shift_index = EXCLUDED.shift_index, rule = EXCLUDED.rule,
    priority = EXCLUDED.priority, urgent = EXCLUDED.urgent, swep = EXCLUDED.swep,
    due_at = EXCLUDED.due_at, serve_at = EXCLUDED.serve_at, within_sla = EXCLUDED.within_sla,
    reasons = EXCLUDED.reasons, inputs = EXCLUDED.inputs, computed_at = EXCLUDED.computed_at,
    run_id = EXCLUDED.run_id
