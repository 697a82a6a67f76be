-- Retention: erase the notes, outcome text and special-category data (health notes, support
-- needs: the contact_sensitive row) of contacts linked to no person and observed before
-- :cutoff; each is marked erased at :now once. How many contacts.
WITH old AS (
    SELECT id FROM contacts
     WHERE person_id IS NULL AND observed_at < :cutoff AND notes_erased_at IS NULL
),
sensitive AS (
    DELETE FROM contact_sensitive WHERE contact_id IN (SELECT id FROM old)
),
erased AS (
    UPDATE contacts SET notes = NULL, outcome = NULL, notes_erased_at = :now
     WHERE id IN (SELECT id FROM old)
    RETURNING 1
)
SELECT count(*) FROM erased
