-- The contact history the cohort rule needs for these people (survivors of merges): every
-- contact of each one's family from :since to :end, anywhere.
WITH RECURSIVE roots(id, root, depth) AS (
    SELECT id, id, 0 FROM persons WHERE merged_into IS NULL
    UNION ALL
    SELECT p.id, roots.root, roots.depth + 1
      FROM persons p JOIN roots ON p.merged_into = roots.id
     WHERE roots.depth < 50
)
SELECT roots.root, c.observed_at, c.bedded_down, c.authority_code IS NOT NULL AS in_area
  FROM contacts c JOIN roots ON roots.id = c.person_id
 WHERE roots.root = ANY(:roots)
   AND c.observed_at >= :since AND c.observed_at < :end
