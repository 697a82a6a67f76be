INSERT INTO swep_states (authority_code, active, changed_at, changed_by)
VALUES (:code, :active, now(), :by)
ON CONFLICT (authority_code)
DO UPDATE SET active = EXCLUDED.active, changed_at = EXCLUDED.changed_at,
              changed_by = EXCLUDED.changed_by
RETURNING authority_code, active, changed_at, changed_by
