-- Open referrals follow their assignment's team (so the team's workers can open them);
-- returns what moved, with the team it moved from.
WITH new AS (
    SELECT unnest(CAST(:ids AS uuid[])) AS id, unnest(CAST(:team_ids AS integer[])) AS team_id
)
UPDATE referrals r
   SET team_id = new.team_id,
       status = CASE WHEN r.status = 'received' THEN 'assigned' ELSE r.status END,
       updated_at = now()
  FROM new JOIN referrals old ON old.id = new.id
 WHERE r.id = new.id AND r.status <> 'closed' AND r.team_id IS DISTINCT FROM new.team_id
RETURNING r.id, old.team_id AS from_team_id, r.team_id AS to_team_id, r.urgent
