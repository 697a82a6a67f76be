SELECT u.id, u.username, u.role,
       COALESCE((SELECT array_agg(team_id ORDER BY team_id) FROM user_teams
                  WHERE user_id = u.id), ARRAY[]::integer[]) AS team_ids,
       COALESCE((SELECT array_agg(authority_code ORDER BY authority_code)
                   FROM user_authorities WHERE user_id = u.id),
                ARRAY[]::varchar[]) AS authority_codes
FROM users u WHERE u.id = :id AND u.active
