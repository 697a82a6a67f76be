-- A snapshot-style return: the people (survivors of merges) seen bedded down in the period,
-- each counted once, in the authority of their last such contact, by gender, age band and
-- (only when :with_nationality) nationality band. Scoped and filtered by that authority.
WITH RECURSIVE roots(id, root, depth) AS (
    SELECT id, id, 0 FROM persons WHERE merged_into IS NULL
    UNION ALL
    SELECT p.id, roots.root, roots.depth + 1
      FROM persons p JOIN roots ON p.merged_into = roots.id
     WHERE roots.depth < 50
),
last_seen AS (
    SELECT DISTINCT ON (roots.root) roots.root, c.authority_code
      FROM contacts c JOIN roots ON roots.id = c.person_id
     WHERE c.bedded_down AND c.authority_code IS NOT NULL
       AND c.observed_at >= :start AND c.observed_at < :end
     ORDER BY roots.root, c.observed_at DESC, c.id DESC
)
SELECT l.authority_code, p.gender, p.age_band,
       CASE WHEN CAST(:with_nationality AS boolean) THEN p.nationality_band END
           AS nationality_band,
       count(*) AS n
  FROM last_seen l JOIN persons p ON p.id = l.root
 WHERE (CAST(:scope_all AS boolean) OR l.authority_code = ANY(CAST(:scope_codes AS varchar[])))
   AND (CAST(:authority AS text) IS NULL OR l.authority_code = :authority)
 GROUP BY 1, 2, 3, 4
