-- Many contacts in one statement: each new one with its special-category row (when it has
-- one), its change-feed row, in batch order, and its places in the hotspot fold queue. Ids
-- already stored are left alone (the caller compares content hashes to tell a re-sent contact
-- from a conflicting one).
-- :items is a JSON array of objects with the columns below; ids are unique within it.
WITH input AS (
    SELECT *
    FROM jsonb_to_recordset(CAST(:items AS jsonb)) AS x(
        ord integer, id uuid, content_hash varchar, team_id integer, worker_id integer,
        observed_at timestamptz, lat double precision, lon double precision,
        accuracy_m double precision, authority_code varchar, person_id uuid, referral_id uuid,
        bedded_down boolean, contact_type varchar, engagement varchar, offers_made jsonb,
        offers_accepted jsonb, outcome varchar, safeguarding_concern boolean, notes text,
        support_needs jsonb, health_notes text
    )
),
inserted AS (
    INSERT INTO contacts (
        id, content_hash, team_id, worker_id, observed_at, geom, accuracy_m, authority_code,
        person_id, referral_id, bedded_down, contact_type, engagement, offers_made,
        offers_accepted, outcome, safeguarding_concern, notes
    )
    SELECT id, content_hash, team_id, worker_id, observed_at,
           ST_SetSRID(ST_MakePoint(lon, lat), 4326), accuracy_m, authority_code, person_id,
           referral_id, bedded_down, contact_type, engagement, offers_made, offers_accepted,
           outcome, safeguarding_concern, notes
    FROM input
    ORDER BY ord
    ON CONFLICT (id) DO NOTHING
    RETURNING id, bedded_down
),
sensitive AS (
    INSERT INTO contact_sensitive (contact_id, support_needs, health_notes)
    SELECT i.id, i.support_needs, i.health_notes
    FROM input i JOIN inserted USING (id)
    WHERE jsonb_array_length(i.support_needs) > 0 OR i.health_notes IS NOT NULL
),
feed AS (
    INSERT INTO changes (team_id, kind, entity_id, data)
    SELECT i.team_id, 'contact_created', CAST(i.id AS varchar),
           jsonb_build_object('bedded_down', i.bedded_down)
    FROM input i JOIN inserted USING (id)
    ORDER BY i.ord
),
-- include: contact_fold_queue
SELECT id FROM inserted
