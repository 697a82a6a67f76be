-- Referrals for a CSV export: the caller's scope (service/access.py), the period by
-- received_at in [:start, :end), optional authority and team; oldest first. Never the
-- referrer's contact details.
SELECT r.reference, r.received_at, r.seen_at, r.seen_time_band, r.status, r.outcome,
       r.closed_at, r.urgent, r.authority_code, r.team_id,
       round(CAST(ST_Y(r.geom) AS numeric), 6) AS lat,
       round(CAST(ST_X(r.geom) AS numeric), 6) AS lon,
       r.accuracy_m, r.location_quality, r.location_description, r.postcode, r.site_type,
       r.people_count, r.gender, r.age_band, r.appearance, r.clothing, r.belongings,
       r.immediate_danger, r.appears_under_18, r.self_referral, r.attempts,
       r.next_shift_due_at, r.outcome_due_at
  FROM referrals r
 WHERE staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                     r.authority_code, r.team_id)
   AND r.received_at >= :start AND r.received_at < :end
   AND (CAST(:authority AS text) IS NULL OR r.authority_code = :authority)
   AND (CAST(:team_id AS integer) IS NULL OR r.team_id = :team_id)
 ORDER BY r.received_at, r.id
