"""Cron schedules (croniter): validation with a clear reason, and the next slots in a time zone.

Five fields (minute precision), or six with seconds FIRST (`*/5 * * * * *`), as most schedulers
with seconds write it; croniter itself takes seconds last, so six-field expressions are turned
around here.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, croniter


def _croniter_form(expression: str) -> str:
    fields = expression.split()
    if len(fields) == 6:
        return " ".join([*fields[1:], fields[0]])
    return " ".join(fields)


def schedule_error(expression: str, timezone: str) -> str | None:
    """Why the schedule is unusable, or None."""
    if len(expression.split()) not in (5, 6):
        return "expression needs 5 fields (minute hour day month weekday) or 6 (seconds first)"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"timezone '{timezone}' is not an IANA time zone (like Europe/Paris or UTC)"
    try:
        croniter(_croniter_form(expression))
    except (CroniterBadCronError, CroniterBadDateError, ValueError, KeyError) as exc:
        return f"expression is not a valid cron expression: {exc}"
    return None


def next_fire(expression: str, timezone: str, after: datetime) -> datetime:
    """The first slot strictly after `after` (an aware datetime), in UTC-aware form."""
    local = after.astimezone(ZoneInfo(timezone))
    following: datetime = croniter(_croniter_form(expression), local).get_next(datetime)
    return following
