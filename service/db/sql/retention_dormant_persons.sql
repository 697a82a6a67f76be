-- Retention: people none of whose records (merged ones included) has a contact, or was
-- created, since :cutoff keep what the figures need: their name is erased and consent and
-- nationality become `unknown`. How many person records changed.
WITH RECURSIVE roots(id, root, depth) AS (
    SELECT id, id, 0 FROM persons WHERE merged_into IS NULL
    UNION ALL
    SELECT p.id, roots.root, roots.depth + 1
      FROM persons p JOIN roots ON p.merged_into = roots.id
     WHERE roots.depth < 50
),
family AS (
    SELECT roots.root,
           GREATEST(max(p.created_at),
                    max((SELECT max(c.observed_at) FROM contacts c WHERE c.person_id = p.id)))
               AS last_at
      FROM roots JOIN persons p ON p.id = roots.id
     GROUP BY roots.root
),
dormant AS (
    SELECT roots.id FROM roots JOIN family ON family.root = roots.root
     WHERE family.last_at < :cutoff
),
reduced AS (
    UPDATE persons p
       SET known_as = NULL, consent_status = 'unknown', nationality_band = 'unknown',
           updated_at = :now
      FROM dormant
     WHERE p.id = dormant.id
       AND (p.known_as IS NOT NULL OR p.consent_status <> 'unknown'
            OR p.nationality_band <> 'unknown')
    RETURNING 1
)
SELECT count(*) FROM reduced
