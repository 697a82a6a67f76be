-- Alert each team whose run-sheet for :day (a local date) gained a referral: one alert per
-- (referral, team, day), however many assignment runs place it there again.
WITH alert_when AS (
    SELECT 'run_sheet_item:' || r.id || ':' || x.team_id || ':' || CAST(:day AS varchar)
               AS message_key,
           CAST('run_sheet_item' AS varchar) AS template, r.id AS referral_id,
           jsonb_build_object('reference', r.reference) AS params,
           ARRAY[x.team_id] AS team_ids
    FROM unnest(CAST(:referral_ids AS uuid[]), CAST(:team_ids AS integer[]))
             AS x(referral_id, team_id)
    JOIN referrals r ON r.id = x.referral_id
),
-- include: outbox_team_alert_ctes
SELECT (SELECT count(*) FROM alert_pushed) + (SELECT count(*) FROM alert_mailed)
