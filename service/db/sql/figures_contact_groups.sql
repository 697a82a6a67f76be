-- Contacts observed in one period (a calendar month), grouped by authority and by cell of the one
-- fixed grid (squares of :cell_m Web-Mercator metres, the tiles of one zoom; NULL without a
-- position): how many, and how many the caller may not see (service.access). What the
-- suppression of figures outside the caller's scope works from (usecases/figures/disclosure).
SELECT r.authority_code,
       floor((ST_X(r.geom_mercator) + 20037508.342789244) / :cell_m)::int AS cx,
       floor((20037508.342789244 - ST_Y(r.geom_mercator)) / :cell_m)::int AS cy,
       count(*) AS records,
       count(*) FILTER (
           WHERE staff_may_see(:scope_all, :scope_coordinator, :scope_teams, :scope_codes,
                               r.authority_code, r.team_id) IS NOT TRUE
       ) AS hidden
  FROM contacts r
 WHERE r.observed_at >= :start AND r.observed_at < :end
 GROUP BY 1, 2, 3
