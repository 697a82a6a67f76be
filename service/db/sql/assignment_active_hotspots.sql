-- Active hotspots of the given layers with recent activity: the hotspot work items.
SELECT h.id, h.authority_code, h.member_count, h.last_activity_at,
       ST_X(h.centroid_bng) AS easting, ST_Y(h.centroid_bng) AS northing
FROM hotspots h
WHERE h.status = 'active' AND h.layer = ANY(:layers) AND h.authority_code IS NOT NULL
  AND h.centroid_bng IS NOT NULL AND h.last_activity_at >= :since
ORDER BY h.id
