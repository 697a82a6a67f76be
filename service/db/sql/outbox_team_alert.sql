-- Queue one alert to the teams :team_ids (see outbox_team_alert_ctes.sql); how many
-- messages were queued.
WITH alert_when AS (
    SELECT CAST(:message_key AS varchar) AS message_key, CAST(:template AS varchar) AS template,
           CAST(:referral_id AS uuid) AS referral_id, CAST(:params AS jsonb) AS params,
           CAST(:team_ids AS integer[]) AS team_ids
),
-- include: outbox_team_alert_ctes
SELECT (SELECT count(*) FROM alert_pushed) + (SELECT count(*) FROM alert_mailed)
