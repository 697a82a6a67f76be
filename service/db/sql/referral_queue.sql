-- The coordinators' queue: open referrals in the caller's scope (service/access.py), urgent
-- first, then newest, with what a coordinator triages by: where the referrer said it was,
-- who holds it and why, the current assignment (and any pin), SWEP in its authority, whether
-- it is past its service level, has no position, lies out of area, or may duplicate another
-- open referral the caller may see. Each flag filter is NULL (ignored) or true. An item's
-- priority rank is its position among every stored item in priority order (as in
-- assignment_list.sql).
WITH ranked AS (
    SELECT item_kind, item_id, row_number() OVER (ORDER BY priority) - 1 AS rank
      FROM assignments
),
queue AS (
    SELECT r.id, r.reference, r.status, r.urgent, r.received_at, r.seen_at,
           r.location_description AS place_text, r.postcode, r.location_quality, r.located_by,
           r.authority_code, au.name AS authority_name, r.team_id, t.name AS team_name,
           r.routing_reason, r.out_of_area, r.geom IS NULL AS no_location,
           COALESCE(sw.active, false) AS swep,
           COALESCE(now() > r.outcome_due_at
                    OR (r.attempts = 0 AND now() > r.next_shift_due_at), false) AS past_sla,
           a.rule AS assignment_rule, a.team_id AS assigned_team_id,
           at.name AS assigned_team_name, a.shift_start AS assigned_shift_start,
           rk.rank AS priority_rank, COALESCE(a.swep, false) AS assignment_swep,
           o.team_id AS pinned_team_id,
           COALESCE((
               SELECT array_agg(o2.id ORDER BY o2.received_at)
                 FROM referral_duplicates d
                 JOIN referrals o2
                   ON o2.id = CASE WHEN d.referral_id = r.id THEN d.other_id ELSE d.referral_id END
                WHERE (d.referral_id = r.id OR d.other_id = r.id)
                  AND d.state = 'suggested' AND o2.status <> 'closed'
                  AND staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                                    o2.authority_code, o2.team_id)
           ), ARRAY[]::uuid[]) AS possible_duplicates
      FROM referrals r
      LEFT JOIN authorities au
             ON au.code = r.authority_code
            AND au.version_id = (SELECT id FROM boundary_versions WHERE is_current LIMIT 1)
      LEFT JOIN teams t ON t.id = r.team_id
      LEFT JOIN swep_states sw ON sw.authority_code = r.authority_code
      LEFT JOIN assignments a ON a.item_kind = 'referral' AND a.item_id = CAST(r.id AS text)
      LEFT JOIN ranked rk ON rk.item_kind = 'referral' AND rk.item_id = CAST(r.id AS text)
      LEFT JOIN teams at ON at.id = a.team_id
      LEFT JOIN assignment_overrides o
             ON o.item_kind = 'referral' AND o.item_id = CAST(r.id AS text)
            AND o.released_at IS NULL
     WHERE r.status <> 'closed'
       AND staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                         r.authority_code, r.team_id)
       AND (CAST(:authority AS text) IS NULL OR r.authority_code = :authority)
       AND (CAST(:team_id AS integer) IS NULL OR r.team_id = :team_id)
       AND (CAST(:stage AS text) IS NULL OR r.status = :stage)
       AND (CAST(:urgent AS boolean) IS NULL OR r.urgent)
       AND (CAST(:out_of_area AS boolean) IS NULL OR r.out_of_area)
       AND (CAST(:no_location AS boolean) IS NULL OR r.geom IS NULL)
)
SELECT *
  FROM queue
 WHERE (CAST(:swep AS boolean) IS NULL OR swep)
   AND (CAST(:past_sla AS boolean) IS NULL OR past_sla)
   AND (CAST(:possible_duplicate AS boolean) IS NULL OR cardinality(possible_duplicates) > 0)
 ORDER BY urgent DESC, received_at DESC, id
 LIMIT :limit
