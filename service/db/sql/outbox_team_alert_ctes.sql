-- The common table expressions of team alerts (no leading WITH): the statement including them
-- defines ``alert_when (message_key, template, referral_id, params, team_ids)``, one row per
-- alert (none: no alert), and the parameters :now and :push_on. Each worker of an addressed
-- team whose shift is on gets the alert on every registered device (one row per
-- subscription); a team with no such device (or off shift, or push off) gets it at its alert
-- email address, when it has one. The unique (message_key, recipient_key) makes a repeat of
-- the same alert a no-op.
alert_target AS (
    SELECT a.message_key, a.template, a.referral_id, a.params, t.id AS team_id, t.alert_email,
-- include: team_on_shift
           AS on_shift
    FROM alert_when a
    JOIN teams t ON t.id = ANY(a.team_ids) AND t.active
),
alert_pushed AS (
    INSERT INTO outbox_messages (message_key, recipient_key, template, channel, referral_id,
                                 team_id, subscription_id, params)
    SELECT DISTINCT ON (tg.message_key, s.id) tg.message_key, 'push:' || s.id, tg.template,
           'push', tg.referral_id, tg.team_id, s.id, tg.params
    FROM alert_target tg
    JOIN user_teams ut ON ut.team_id = tg.team_id
    JOIN users u ON u.id = ut.user_id AND u.active
    JOIN push_subscriptions s ON s.user_id = u.id
    WHERE tg.on_shift AND CAST(:push_on AS boolean)
    ORDER BY tg.message_key, s.id, tg.team_id
    ON CONFLICT (message_key, recipient_key) DO NOTHING
    RETURNING message_key, team_id
),
alert_mailed AS (
    INSERT INTO outbox_messages (message_key, recipient_key, template, channel, referral_id,
                                 team_id, address, params)
    SELECT tg.message_key, 'team:' || tg.team_id, tg.template, 'email', tg.referral_id,
           tg.team_id, tg.alert_email, tg.params
    FROM alert_target tg
    WHERE tg.alert_email IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM alert_pushed p
                      WHERE p.message_key = tg.message_key AND p.team_id = tg.team_id)
      AND NOT EXISTS (SELECT 1 FROM outbox_messages o
                      WHERE o.message_key = tg.message_key AND o.team_id = tg.team_id)
    ON CONFLICT (message_key, recipient_key) DO NOTHING
    RETURNING 1
)
