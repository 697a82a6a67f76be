-- Contacts for a CSV export: the caller's scope (service/access.py),
-- the period by observed_at in [:start, :end), optional authority and team; oldest first.
-- People appear by pseudonym only. Special-category fields only when :special_category.
SELECT c.id, c.observed_at, c.received_at, c.team_id, c.worker_id, c.authority_code,
       round(CAST(ST_Y(c.geom) AS numeric), 6) AS lat,
       round(CAST(ST_X(c.geom) AS numeric), 6) AS lon,
       c.accuracy_m, p.pseudonym AS person, r.reference AS referral, c.bedded_down,
       c.contact_type, c.engagement, c.offers_made, c.offers_accepted, c.outcome,
       c.safeguarding_concern, c.notes,
       CASE WHEN CAST(:special_category AS boolean) THEN s.support_needs END AS support_needs,
       CASE WHEN CAST(:special_category AS boolean) THEN s.health_notes END AS health_notes
  FROM contacts c
  LEFT JOIN persons p ON p.id = c.person_id
  LEFT JOIN referrals r ON r.id = c.referral_id
  LEFT JOIN contact_sensitive s ON CAST(:special_category AS boolean) AND s.contact_id = c.id
 WHERE staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                     c.authority_code, c.team_id)
   AND c.observed_at >= :start AND c.observed_at < :end
   AND (CAST(:authority AS text) IS NULL OR c.authority_code = :authority)
   AND (CAST(:team_id AS integer) IS NULL OR c.team_id = :team_id)
 ORDER BY c.observed_at, c.id
