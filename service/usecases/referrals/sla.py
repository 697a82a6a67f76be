"""Service levels: when a referral is due to be looked for, and when an outcome is due.

Teams work shifts in local (Europe/London) time; a referral is due by the end of the first
shift that starts after it arrives. An outcome is due within ``outcome_due_days``.

>>> import datetime as dt
>>> received = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
>>> next_shift_end(received, dt.time(5, 30), dt.time(10, 0)).isoformat()
'2026-11-24T10:00:00+00:00'
>>> next_shift_end(received, dt.time(22, 0), dt.time(2, 0)).isoformat()  # overnight shift
'2026-11-24T02:00:00+00:00'
>>> summer = dt.datetime(2026, 7, 1, 3, 0, tzinfo=dt.UTC)  # 04:00 BST
>>> next_shift_end(summer, dt.time(5, 30), dt.time(10, 0)).isoformat()
'2026-07-01T09:00:00+00:00'
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def next_shift_end(
    received_at: dt.datetime, shift_start: dt.time, shift_end: dt.time
) -> dt.datetime:
    """The end (UTC) of the first shift starting after ``received_at``."""
    local = received_at.astimezone(LONDON)
    day = local.date()
    for offset in range(3):
        start = dt.datetime.combine(day + dt.timedelta(days=offset), shift_start, LONDON)
        if start > local:
            end_day = start.date() + dt.timedelta(days=1 if shift_end <= shift_start else 0)
            return dt.datetime.combine(end_day, shift_end, LONDON).astimezone(dt.UTC)
    raise AssertionError("a shift starts within three days")  # pragma: no cover


def outcome_due(received_at: dt.datetime, *, days: int) -> dt.datetime:
    return received_at + dt.timedelta(days=days)
