INSERT INTO assignments (item_kind, item_id, work_kind, authority_code, team_id, shift_start,
                         shift_end, shift_index, rule, priority, urgent, swep, due_at, serve_at,
                         within_sla, reasons, inputs, computed_at, run_id)
VALUES (:item_kind, :item_id, :work_kind, :authority_code, :team_id, :shift_start, :shift_end,
        :shift_index, :rule, :priority, :urgent, :swep, :due_at, :serve_at, :within_sla,
        CAST(:reasons AS jsonb), CAST(:inputs AS jsonb), :computed_at, :run_id)
