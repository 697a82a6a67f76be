-- A whole intake in one statement: the referral, its referrer's contact details, its events,
-- the change-feed row for its team and links to possible duplicates (same content within the
-- fingerprint window, or open and near in place and time). One statement is atomic, so a
-- referral is stored whole or not at all, in one round trip. When the submission key was
-- used already nothing is written and no row comes back.
WITH ins AS (
    INSERT INTO referrals (
        reference, status_token_hash, submission_key, fingerprint, source, source_ref,
        seen_at, seen_exact, seen_time_band, geom, accuracy_m, location_quality,
        location_description, postcode, gender, age_band, appearance, clothing, belongings,
        site_type, people_count, immediate_danger, appears_under_18, self_referral, urgent,
        status, authority_code, boundary_version_id, team_id, routing_reason, out_of_area,
        next_shift_due_at, outcome_due_at, token_salt, received_at, updated_at,
        located_by, location_accuracy_m
    ) VALUES (
        :reference, :status_token_hash, :submission_key, :fingerprint, :source, :source_ref,
        :seen_at, :seen_exact, :seen_time_band,
        CASE WHEN CAST(:lon AS double precision) IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint(CAST(:lon AS double precision),
                                          CAST(:lat AS double precision)), 4326) END,
        :accuracy_m, :location_quality,
        :location_description, :postcode, :gender, :age_band, :appearance, :clothing,
        :belongings, :site_type, :people_count, :immediate_danger, :appears_under_18,
        :self_referral, :urgent, :status, :authority_code, :boundary_version_id, :team_id,
        :routing_reason, :out_of_area, :next_shift_due_at, :outcome_due_at, :token_salt,
        :received_at, :received_at, :located_by, :location_accuracy_m
    )
    ON CONFLICT (submission_key) DO NOTHING
    RETURNING id, received_at
),
referrer AS (
    INSERT INTO referrer_contacts (referral_id, name, email, phone, wants_update, status_token)
    SELECT ins.id, CAST(:referrer_name AS varchar), CAST(:referrer_email AS varchar),
           CAST(:referrer_phone AS varchar), CAST(:referrer_wants_update AS boolean),
           CAST(:update_token AS varchar)
    FROM ins
    WHERE CAST(:referrer_keep AS boolean)
),
same_content AS (
    SELECT r.id AS other_id, 'identical_content' AS reason,
           CAST(NULL AS double precision) AS distance_m,
           CAST(NULL AS double precision) AS hours_apart, 0 AS rank
    FROM referrals r
    WHERE r.fingerprint = :fingerprint AND r.received_at >= CAST(:fingerprint_since AS timestamptz)
      AND r.status <> 'closed'
    ORDER BY r.received_at
    LIMIT 5
),
nearby AS (
    -- ST_DWithin and the window on ix_referrals_open_geom_bng_seen_at (open referrals only):
    -- only the open referrals near the point and in the window are read, however many are
    -- open elsewhere. The radius is capped by the caller.
    SELECT r.id AS other_id, 'nearby' AS reason, ST_Distance(r.geom_bng, p.pt) AS distance_m,
           abs(extract(epoch FROM (r.seen_at - :seen_at)) / 3600.0)::double precision
               AS hours_apart,
           1 AS rank
    FROM referrals r,
         (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(CAST(:lon AS double precision),
                                                      CAST(:lat AS double precision)), 4326),
                              27700) AS pt) p
    WHERE CAST(:lon AS double precision) IS NOT NULL
      AND r.status <> 'closed'
      AND ST_DWithin(r.geom_bng, p.pt, CAST(:radius_m AS double precision))
      AND r.seen_at BETWEEN :seen_at - CAST(:window_h AS double precision) * interval '1 hour'
                        AND :seen_at + CAST(:window_h AS double precision) * interval '1 hour'
    ORDER BY distance_m, r.received_at
    LIMIT 20
),
candidates AS (
    SELECT DISTINCT ON (other_id) other_id, reason, distance_m, hours_apart
    FROM (SELECT * FROM same_content UNION ALL SELECT * FROM nearby) c
    ORDER BY other_id, rank
),
links AS (
    INSERT INTO referral_duplicates (referral_id, other_id, reason, distance_m, hours_apart)
    SELECT ins.id, c.other_id, c.reason, c.distance_m, c.hours_apart FROM ins, candidates c
    ON CONFLICT DO NOTHING
),
found AS (SELECT count(*) AS n FROM candidates),
events AS (
    INSERT INTO referral_events (referral_id, kind, actor, data)
    SELECT ins.id, e.kind, e.actor, e.data
    FROM ins,
         (SELECT 1 AS ord, 'received' AS kind, CAST(:received_actor AS varchar) AS actor,
                 CAST(:received_data AS jsonb) AS data
          UNION ALL
          SELECT 2, 'routed', 'system', CAST(:routed_data AS jsonb)
          UNION ALL
          SELECT 3, 'duplicate_suggested', 'system', jsonb_build_object('count', found.n)
          FROM found WHERE found.n > 0) e
    ORDER BY e.ord
),
assigned AS (
    INSERT INTO changes (team_id, kind, entity_id, data)
    SELECT CAST(:team_id AS integer), 'referral_assigned', CAST(ins.id AS varchar),
           CAST(:assigned_data AS jsonb)
    FROM ins
    WHERE CAST(:team_id AS integer) IS NOT NULL
),
-- A referral with a position waits for its layer's next fold (service.usecases.hotspots.queue),
-- whichever app process does it.
fold AS (
    INSERT INTO hotspot_fold_queue (layer, member_kind, member_id)
    SELECT 'public_reports', 'referral', ins.id FROM ins
    WHERE CAST(:lon AS double precision) IS NOT NULL
    ON CONFLICT DO NOTHING
),
-- The outbox (written with the referral, so neither exists without the other): the
-- referrer's acknowledgement when they want updates by email, and an urgent alert to the team.
acknowledge AS (
    INSERT INTO outbox_messages (message_key, recipient_key, template, channel, referral_id,
                                 address, params)
    SELECT 'referral_acknowledged:' || ins.id, 'referrer', 'referral_acknowledged', 'email',
           ins.id, CAST(:referrer_email AS varchar),
           jsonb_build_object('reference', CAST(:reference AS varchar),
                              'token', CAST(:update_token AS varchar))
    FROM ins
    WHERE CAST(:update_token AS varchar) IS NOT NULL
),
alert_when AS (
    SELECT 'urgent_referral:' || ins.id AS message_key, CAST('urgent_referral' AS varchar) AS template,
           ins.id AS referral_id,
           jsonb_build_object('reference', CAST(:reference AS varchar)) AS params,
           ARRAY[CAST(:team_id AS integer)] AS team_ids
    FROM ins
    WHERE CAST(:urgent AS boolean) AND CAST(:alert_team AS boolean)
      AND CAST(:team_id AS integer) IS NOT NULL
),
-- include: outbox_team_alert_ctes
SELECT ins.id, ins.received_at, found.n AS duplicates FROM ins, found
