INSERT INTO referral_attempts (id, referral_id, worker_id, attempted_at, found, geom, note)
VALUES (
    :id, :rid, :worker, :at, :found,
    CASE WHEN CAST(:lon AS double precision) IS NULL THEN NULL
         ELSE ST_SetSRID(ST_MakePoint(CAST(:lon AS double precision),
                                      CAST(:lat AS double precision)), 4326) END,
    :note
)
ON CONFLICT (id) DO NOTHING
RETURNING id
