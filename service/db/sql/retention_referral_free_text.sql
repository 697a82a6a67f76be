-- Retention: erase the free text (and postcode) of referrals closed before :cutoff.
WITH erased AS (
    UPDATE referrals
       SET location_description = NULL, appearance = NULL, clothing = NULL,
           belongings = NULL, postcode = NULL
     WHERE status = 'closed' AND closed_at < :cutoff
       AND (location_description IS NOT NULL OR appearance IS NOT NULL
            OR clothing IS NOT NULL OR belongings IS NOT NULL OR postcode IS NOT NULL)
    RETURNING 1
)
SELECT count(*) FROM erased
