-- Queue a referral's update email to its referrer: only while they want updates and gave an
-- email address; once per (message, referrer).
INSERT INTO outbox_messages (message_key, recipient_key, template, channel, referral_id,
                             address, params)
SELECT CAST(:template AS varchar) || ':' || r.id, 'referrer', CAST(:template AS varchar),
       'email', r.id, rc.email,
       jsonb_build_object('reference', r.reference, 'token', rc.status_token,
                          'outcome', r.outcome)
FROM referrals r
JOIN referrer_contacts rc ON rc.referral_id = r.id
WHERE r.id = :referral_id AND rc.wants_update AND rc.email IS NOT NULL
  AND rc.status_token IS NOT NULL
ON CONFLICT (message_key, recipient_key) DO NOTHING
