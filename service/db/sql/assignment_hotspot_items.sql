-- Some hotspots as work items (as assignment_active_hotspots), by id: those still work.
SELECT h.id, h.authority_code, h.member_count, h.last_activity_at,
       ST_X(h.centroid_bng) AS easting, ST_Y(h.centroid_bng) AS northing
FROM hotspots h
WHERE h.id = ANY(CAST(:ids AS bigint[]))
  AND h.status = 'active' AND h.layer = ANY(:layers) AND h.authority_code IS NOT NULL
  AND h.centroid_bng IS NOT NULL AND h.last_activity_at >= :since
