INSERT INTO referrals (
    reference, status_token_hash, submission_key, fingerprint, source, source_ref,
    seen_at, seen_exact, seen_time_band, geom, accuracy_m, location_quality,
    location_description, postcode, gender, age_band, appearance, clothing, belongings,
    site_type, people_count, immediate_danger, appears_under_18, self_referral, urgent,
    status, authority_code, boundary_version_id, team_id, routing_reason, out_of_area,
    next_shift_due_at, outcome_due_at, token_salt, received_at, updated_at
) VALUES (
    :reference, :status_token_hash, :submission_key, :fingerprint, :source, :source_ref,
    :seen_at, :seen_exact, :seen_time_band,
    CASE WHEN CAST(:lon AS double precision) IS NULL THEN NULL
         ELSE ST_SetSRID(ST_MakePoint(CAST(:lon AS double precision),
                                      CAST(:lat AS double precision)), 4326) END,
    :accuracy_m, :location_quality,
    :location_description, :postcode, :gender, :age_band, :appearance, :clothing, :belongings,
    :site_type, :people_count, :immediate_danger, :appears_under_18, :self_referral, :urgent,
    :status, :authority_code, :boundary_version_id, :team_id, :routing_reason, :out_of_area,
    :next_shift_due_at, :outcome_due_at, :token_salt, :received_at, :received_at
)
ON CONFLICT (submission_key) DO NOTHING
RETURNING id, received_at
