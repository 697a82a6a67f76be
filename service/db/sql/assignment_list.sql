-- Current assignments in the caller's scope (service/access.py), highest priority first, with the active override.
-- An item's rank is its position among every stored item in priority order.
WITH ranked AS (
    SELECT item_kind, item_id, row_number() OVER (ORDER BY priority) - 1 AS rank
    FROM assignments
)
SELECT a.item_kind, a.item_id, a.work_kind, a.authority_code, a.team_id, t.name AS team_name,
       a.shift_start, a.shift_end, a.shift_index, a.rule, rk.rank, a.urgent, a.swep, a.due_at,
       a.serve_at, a.within_sla, a.reasons, a.computed_at, a.run_id, r.reference,
       o.team_id AS override_team_id, o.shift_date AS override_shift_date,
       o.note AS override_note, o.created_by_name AS override_by,
       o.created_at AS override_at
FROM assignments a
JOIN ranked rk ON rk.item_kind = a.item_kind AND rk.item_id = a.item_id
LEFT JOIN teams t ON t.id = a.team_id
LEFT JOIN referrals r
       ON r.id = CASE WHEN a.item_kind = 'referral' THEN CAST(a.item_id AS uuid) END
LEFT JOIN assignment_overrides o
       ON o.item_kind = a.item_kind AND o.item_id = a.item_id AND o.released_at IS NULL
WHERE staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                    a.authority_code, a.team_id)
  AND (CAST(:team_id AS integer) IS NULL OR a.team_id = :team_id)
  AND (CAST(:item_kind AS text) IS NULL OR a.item_kind = :item_kind)
  AND (CAST(:rules AS text[]) IS NULL OR a.rule = ANY(CAST(:rules AS text[])))
  AND (CAST(:item_id AS text) IS NULL OR a.item_id = :item_id)
ORDER BY a.priority
LIMIT :limit OFFSET :offset
