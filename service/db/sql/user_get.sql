-- An active user with their scope (service.access); with :device_id, only while that device
-- is theirs and not revoked.
SELECT u.id, u.username, u.role,
       COALESCE((SELECT array_agg(team_id ORDER BY team_id) FROM user_teams
                  WHERE user_id = u.id), ARRAY[]::integer[]) AS team_ids,
       COALESCE((SELECT array_agg(authority_code ORDER BY authority_code)
                   FROM user_authorities WHERE user_id = u.id),
                ARRAY[]::varchar[]) AS authority_codes,
       -- a coordinator's teams that work only inside their authorities (service.access)
       CASE WHEN u.role = 'coordinator' THEN COALESCE((
           SELECT array_agg(team_id ORDER BY team_id) FROM (
               SELECT ta.team_id FROM team_areas ta GROUP BY ta.team_id
               HAVING bool_and(ta.authority_code IN (
                   SELECT ua.authority_code FROM user_authorities ua WHERE ua.user_id = u.id))
           ) within), ARRAY[]::integer[]) ELSE ARRAY[]::integer[] END AS area_team_ids
FROM users u WHERE u.id = :id AND u.active
  -- a phone's token is bound to its device: gone, revoked or someone else's, it admits no one
  AND (CAST(:device_id AS uuid) IS NULL OR EXISTS (
      SELECT 1 FROM devices d
      WHERE d.id = CAST(:device_id AS uuid) AND d.user_id = u.id AND d.revoked_at IS NULL))
