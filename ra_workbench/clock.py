"""Paris time for everything people read, and the `today` a task works for.

Staff and customers live in Europe/Paris; the database stores UTC (db.UTCDateTime)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

# How people write a day in France, the first one being how the screens show it (and the
# French calendar writes it); ISO is read too (links, the API, the browser's own inputs).
FRENCH_DAY_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y", "%d.%m.%Y", "%d-%m-%Y")


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


def parse_day_fr(text: str) -> dt.date:
    """A day typed or picked on a French screen (03/12/2026, 3.12.2026, 2026-12-03);
    ValueError when it reads as none of them."""
    text = text.strip()
    for pattern in FRENCH_DAY_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a calendar day
        except ValueError:
            continue
    raise ValueError(text)
