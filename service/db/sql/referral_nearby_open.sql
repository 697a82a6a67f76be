-- Open referrals near a point and close in time: candidates for "possible duplicate".
-- ST_DWithin on the BNG column uses its GiST index; the radius is capped by the caller.
SELECT r.id,
       ST_Distance(r.geom_bng, p.pt) AS distance_m,
       abs(extract(epoch FROM (r.seen_at - :seen_at)) / 3600.0) AS hours_apart
FROM referrals r,
     (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 27700) AS pt) p
WHERE r.id <> :id
  AND r.status <> 'closed'
  AND ST_DWithin(r.geom_bng, p.pt, :radius_m)
  AND r.seen_at BETWEEN :seen_at - make_interval(hours => :window_h)
                    AND :seen_at + make_interval(hours => :window_h)
ORDER BY distance_m, r.received_at
LIMIT 20
