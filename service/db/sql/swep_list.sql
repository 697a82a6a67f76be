-- SWEP state of every current authority (off when never switched).
SELECT a.code AS authority_code, a.name, COALESCE(s.active, false) AS active, s.changed_at,
       s.changed_by
FROM authorities a
JOIN boundary_versions v ON v.id = a.version_id AND v.is_current
LEFT JOIN swep_states s ON s.authority_code = a.code
ORDER BY a.code
