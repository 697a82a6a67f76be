-- The referral a submission key stored (a resend is answered with its receipt).
SELECT id, reference, status, outcome, urgent, received_at, updated_at, closed_at, token_salt,
       status_token_hash, located_by
FROM referrals
WHERE submission_key = :k
