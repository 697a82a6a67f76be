-- The people (survivors of merges) with a contact in the period, and where: one row per
-- person, authority and team.
WITH RECURSIVE roots(id, root, depth) AS (
    SELECT id, id, 0 FROM persons WHERE merged_into IS NULL
    UNION ALL
    SELECT p.id, roots.root, roots.depth + 1
      FROM persons p JOIN roots ON p.merged_into = roots.id
     WHERE roots.depth < 50
)
SELECT DISTINCT roots.root, c.authority_code, c.team_id
  FROM contacts c JOIN roots ON roots.id = c.person_id
 WHERE c.observed_at >= :start AND c.observed_at < :end
   AND (CAST(:authority AS text) IS NULL OR c.authority_code = :authority)
   AND (CAST(:team_id AS integer) IS NULL OR c.team_id = :team_id)
