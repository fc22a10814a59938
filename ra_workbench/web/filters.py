"""How templates print times: staff read Europe/Paris, the database keeps UTC (db.UTCDateTime).

Every page goes through these filters rather than calling `.strftime` on a stored value
(tests/test_templates.py holds the templates to it), so no page shows a UTC time as if it
were local:
- `value|paris` a moment, « 02/12/2026 14:05 » in Paris (`value|paris('%H:%M')` for a part);
- `value|paris_date` the Paris day of a moment, « 02/12/2026 »;
- `value|day` a calendar date that has no time zone (a birth date, a check's evaluation day);
- `value|utc` a moment in UTC, said so (the audit trail's clock, REQUIREMENTS 13).
An empty value prints `—` (or the filter's `empty=`).
"""

from __future__ import annotations

import datetime as dt

from flask import Flask

from ra_workbench.clock import local_time

MOMENT = "%d/%m/%Y %H:%M"
DAY = "%d/%m/%Y"


def _moment(value: dt.datetime | str) -> dt.datetime:
    when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def paris(value: dt.datetime | str | None, fmt: str = MOMENT, empty: str = "—") -> str:
    return local_time(_moment(value)).strftime(fmt) if value else empty


def paris_date(value: dt.datetime | str | None, empty: str = "—") -> str:
    return paris(value, DAY, empty)


def day(value: dt.date | None, empty: str = "—") -> str:
    return value.strftime(DAY) if value else empty


def utc(value: dt.datetime | str | None, empty: str = "—") -> str:
    return _moment(value).astimezone(dt.UTC).strftime("%d/%m/%Y %H:%M:%S UTC") if value else empty


def register_filters(app: Flask) -> None:
    for name, function in (
        ("paris", paris),
        ("paris_date", paris_date),
        ("day", day),
        ("utc", utc),
    ):
        app.add_template_filter(function, name)
