-- One contact, unless its id is stored already, queued for its hotspot layers' next fold.
WITH inserted AS (
    INSERT INTO contacts (
        id, content_hash, team_id, worker_id, observed_at, geom, accuracy_m, authority_code,
        person_id, referral_id, bedded_down, contact_type, engagement, offers_made, offers_accepted,
        outcome, safeguarding_concern, notes
    ) VALUES (
        :id, :content_hash, :team_id, :worker_id, :observed_at,
        ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :accuracy_m, :authority_code,
        :person_id, :referral_id, :bedded_down, :contact_type, :engagement,
        CAST(:offers_made AS jsonb), CAST(:offers_accepted AS jsonb),
        :outcome, :safeguarding_concern, :notes
    )
    ON CONFLICT (id) DO NOTHING
    RETURNING id, bedded_down
),
-- include: contact_fold_queue
SELECT id FROM inserted
