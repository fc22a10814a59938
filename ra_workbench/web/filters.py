"""How templates print times: staff read Europe/Paris, the database keeps UTC (db.UTCDateTime).

Every page goes through these filters rather than calling `.strftime` on a stored value
(tests/test_templates.py holds the templates to it), so no page shows a UTC time as if it
were local:
- `value|paris` a moment, « 02/12/2026 14:05 » in Paris (`value|paris('%H:%M')` for a part);
- `value|paris_date` the Paris day of a moment, « 02/12/2026 »;
- `value|day` a calendar date that has no time zone (a birth date, a check's evaluation day);
- `value|utc` a moment in UTC, said so (the audit trail's clock, REQUIREMENTS 13).
An empty value prints `—` (or the filter's `empty=`).

And how they print ids and numbers (issue 15): `rule_label`, `event_label`, `trigger_label`,
`evidence_label` give the French label of an id (rules/labels.toml, ra_workbench/labels.py),
`subject_rows` a certificate subject as (French attribute, value) pairs; `money` prints
« 294,00 € » and `number` « 58,6 », the French way.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from babel.numbers import format_currency, format_decimal
from flask import Flask, current_app

from ra_workbench.clock import local_time
from ra_workbench.labels import Labels, load_labels

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


NUMBER_LOCALE = "fr_FR"


def money(value: decimal.Decimal | float | int | str | None, empty: str = "—") -> str:
    """« 294,00 € »."""
    if value is None or value == "":
        return empty
    return format_currency(decimal.Decimal(str(value)), "EUR", locale=NUMBER_LOCALE)


def number(value: decimal.Decimal | float | int | None, digits: int = 1, empty: str = "—") -> str:
    """« 58,6 » (at most `digits` decimals, a comma, French grouping)."""
    if value is None:
        return empty
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=NUMBER_LOCALE)


def labels() -> Labels:
    return load_labels(current_app.config["RA_SETTINGS"].rules_dir)


def rule_label(rule_id: str | None) -> str:
    return labels().rule(rule_id) if rule_id else "—"


def event_label(event_type: str | None) -> str:
    return labels().event(event_type) if event_type else "—"


def trigger_label(trigger: str | None) -> str:
    return labels().trigger(trigger) if trigger else "—"


def evidence_label(key: str | None) -> str:
    return labels().evidence_key(key) if key else "—"


def subject_rows(name: Any) -> list[tuple[str, str]]:
    """A cryptography `x509.Name` as (French attribute name, value), in its order."""
    known = labels()
    return [
        (known.subject_attribute(attribute.oid.dotted_string), str(attribute.value))
        for attribute in name
    ]


def register_filters(app: Flask) -> None:
    # Read once at start-up: a malformed rules/labels.toml stops the app with its name.
    load_labels(app.config["RA_SETTINGS"].rules_dir)
    for name, function in (
        ("paris", paris),
        ("paris_date", paris_date),
        ("day", day),
        ("utc", utc),
        ("money", money),
        ("number", number),
        ("rule_label", rule_label),
        ("event_label", event_label),
        ("trigger_label", trigger_label),
        ("evidence_label", evidence_label),
        ("subject_rows", subject_rows),
    ):
        app.add_template_filter(function, name)
