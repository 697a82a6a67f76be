-- Visits of the given shifts, (team, start) pairs, taken by items of higher priority than
-- :priority, each counted on ix_assignments_team_id_shift_start_priority: bounded by the
-- shifts' capacity, not the backlog. The priority test is written as a row comparison on that
-- index's three columns so that no plan can answer it on ix_assignments_priority instead:
-- asyncpg's prepared statements get generic plans, and under stale statistics (thousands of
-- new unplaced items since the last analyse) "priority < :priority" walked the priority index
-- through every stored item (tests/integration/test_assignment_plans.py).
SELECT s.team_id, s.shift_start,
       (SELECT count(*) FROM assignments a
         WHERE a.team_id = s.team_id AND a.shift_start = s.shift_start
           AND (a.team_id, a.shift_start, a.priority)
               < (s.team_id, s.shift_start, CAST(:priority AS varchar))) AS n
FROM unnest(CAST(:team_ids AS integer[]), CAST(:shift_starts AS timestamptz[]))
     AS s(team_id, shift_start)
