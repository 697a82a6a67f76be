-- Contact figures for a period, per authority and per team: contacts, and verified rough
-- sleepers (distinct people seen bedded down; merged records count as their survivor).
WITH RECURSIVE roots(id, root, depth) AS (
    SELECT id, id, 0 FROM persons WHERE merged_into IS NULL
    UNION ALL
    SELECT p.id, roots.root, roots.depth + 1
      FROM persons p JOIN roots ON p.merged_into = roots.id
     WHERE roots.depth < 50
),
period AS (
    SELECT c.authority_code, c.team_id, c.bedded_down, roots.root
      FROM contacts c LEFT JOIN roots ON roots.id = c.person_id
     WHERE c.observed_at >= :start AND c.observed_at < :end
       AND (CAST(:authority AS text) IS NULL OR c.authority_code = :authority)
       AND (CAST(:team_id AS integer) IS NULL OR c.team_id = :team_id)
)
SELECT GROUPING(authority_code) = 0 AS by_authority,
       authority_code,
       team_id,
       count(*) AS contacts,
       count(DISTINCT root) FILTER (WHERE bedded_down) AS verified_people
  FROM period
 GROUP BY GROUPING SETS ((authority_code), (team_id))
