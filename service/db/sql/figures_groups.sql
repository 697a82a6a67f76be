-- Referrals received (:kind 'referral') or contacts observed (:kind 'contact') in one period
-- (a calendar month), grouped by authority and by cell of the one fixed grid (squares of
-- :cell_m Web-Mercator metres, the tiles of one zoom; NULL without a position): how many, and
-- how many the caller may not see (service.access). What the suppression of figures outside
-- the caller's scope works from (usecases/figures/disclosure). The branch of the other kind
-- is cut off by its constant :kind test, so only one table is read.
WITH records AS (
    SELECT authority_code, team_id, geom_mercator
      FROM referrals
     WHERE CAST(:kind AS text) = 'referral' AND received_at >= :start AND received_at < :end
    UNION ALL
    SELECT authority_code, team_id, geom_mercator
      FROM contacts
     WHERE CAST(:kind AS text) = 'contact' AND observed_at >= :start AND observed_at < :end
)
SELECT r.authority_code,
       floor((ST_X(r.geom_mercator) + 20037508.342789244) / :cell_m)::int AS cx,
       floor((20037508.342789244 - ST_Y(r.geom_mercator)) / :cell_m)::int AS cy,
       count(*) AS records,
       count(*) FILTER (
           WHERE staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                               r.authority_code, r.team_id) IS NOT TRUE
       ) AS hidden
  FROM records r
 GROUP BY 1, 2, 3
