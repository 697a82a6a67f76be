-- Whether team t's daily shift (local times, Europe/London) is on at :now; a shift ending at
-- or before its start ends the next day, one ending at its start lasts the whole day.
(CASE
    WHEN t.shift_start < t.shift_end THEN
        (CAST(:now AS timestamptz) AT TIME ZONE 'Europe/London')::time >= t.shift_start
        AND (CAST(:now AS timestamptz) AT TIME ZONE 'Europe/London')::time < t.shift_end
    WHEN t.shift_start > t.shift_end THEN
        (CAST(:now AS timestamptz) AT TIME ZONE 'Europe/London')::time >= t.shift_start
        OR (CAST(:now AS timestamptz) AT TIME ZONE 'Europe/London')::time < t.shift_end
    ELSE true
END)
