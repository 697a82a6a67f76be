-- The members of one hotspot with what staff need to recognise them; scope is checked by
-- the caller per member (referrals by team/authority, contacts by team/authority).
SELECT 'referral' AS kind, r.id, m.core, r.seen_at AS at, ST_X(r.geom) AS lon,
       ST_Y(r.geom) AS lat, r.reference, r.status, r.urgent, NULL::boolean AS bedded_down,
       NULL AS contact_type, NULL AS engagement, r.team_id, r.authority_code
FROM hotspot_members m JOIN referrals r ON r.id = m.member_id
WHERE m.hotspot_id = :id AND m.member_kind = 'referral'
UNION ALL
SELECT 'contact', c.id, m.core, c.observed_at, ST_X(c.geom), ST_Y(c.geom), NULL, NULL, NULL,
       c.bedded_down, c.contact_type, c.engagement, c.team_id, c.authority_code
FROM hotspot_members m JOIN contacts c ON c.id = m.member_id
WHERE m.hotspot_id = :id AND m.member_kind = 'contact'
ORDER BY at DESC, id
