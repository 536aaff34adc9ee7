"""Cron expressions and time zones, checked and evaluated by cronsim and zoneinfo.

Shared by the catalog (`SCHEDULE = "..."` in a script file) and the schedules app, so a file
and the API accept exactly the same expressions. Only the standard five fields (minute hour
day month weekday) are accepted: cronsim's optional seconds field would allow a tick a second.

Time zones: cronsim evaluates in the schedule's zone like Debian's cron. A fixed-time tick in a
local time skipped by a DST change (02:30 on the spring-forward night) fires at the first valid
minute after it (03:00); a fixed-time tick in a repeated hour fires once, at its first
occurrence. Expressions with `*` in the minute or hour field tick on real time instead.
"""

import zoneinfo
from datetime import UTC, datetime
from itertools import islice

from cronsim import CronSim, CronSimError


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a valid five-field cron expression, or None when it is."""
    if not isinstance(expression, str) or len(expression.split()) != 5:
        return "A cron expression has five fields: minute hour day-of-month month day-of-week."
    try:
        CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as error:
        return f"Invalid cron expression: {error}"
    except (ValueError, IndexError) as error:  # a malformed range cronsim does not word itself
        return f"Invalid cron expression: {error}."
    return None


def zone_problem(name: str) -> str | None:
    """Why `name` is not an IANA time zone (e.g. "Europe/Paris"), or None when it is."""
    if not isinstance(name, str) or not name or name != name.strip():
        return "Name an IANA time zone, such as Europe/Paris or UTC."
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"'{name}' is not an IANA time zone (such as Europe/Paris or UTC)."
    return None


def ticks_after(expression: str, zone: str, after: datetime, count: int) -> list[datetime]:
    """The first `count` ticks of `expression` in `zone` strictly after `after`, in UTC."""
    start = after.astimezone(zoneinfo.ZoneInfo(zone))
    return [tick.astimezone(UTC) for tick in islice(CronSim(expression, start), count)]


def next_tick(expression: str, zone: str, after: datetime) -> datetime:
    """The first tick of `expression` in `zone` strictly after `after`, in UTC."""
    return ticks_after(expression, zone, after, 1)[0]
