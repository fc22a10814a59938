"""Paris time for everything people read, and the `today` a task works for.

Staff and customers live in Europe/Paris; the database stores UTC (db.UTCDateTime)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def local_time(value: dt.datetime) -> dt.datetime:
    return value.astimezone(PARIS)


def today_in_paris() -> dt.date:
    return dt.datetime.now(PARIS).date()


def as_day(value: str | dt.date | None) -> dt.date:
    """A task's `today`: an ISO date (or datetime) string, a date, or None for today in
    Paris (the fake clock of the tests and the CLI flows through here)."""
    if value is None:
        return today_in_paris()
    if isinstance(value, dt.datetime):
        return value.astimezone(PARIS).date()
    if isinstance(value, dt.date):
        return value
    if "T" in value:
        return as_day(dt.datetime.fromisoformat(value))
    return dt.date.fromisoformat(value)
