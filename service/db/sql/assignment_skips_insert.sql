-- The full shifts an assignment skipped (its reasons.full_slots), found by shift.
INSERT INTO assignment_skips (item_kind, item_id, team_id, shift_start, priority)
VALUES (:item_kind, :item_id, :team_id, :shift_start, :priority)
