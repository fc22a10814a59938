"""Pickup slots opened as a series: Paris wall time, weekdays only, stored in UTC, and a
series opened twice adds nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from ra_workbench.clock import PARIS
from ra_workbench.delivery.models import PickupSlot
from ra_workbench.delivery.slots import SlotSeries, open_series, plan
from ra_workbench.extensions import db

PLACE = "CertEurope, 26 rue du Faubourg Poissonnière, 75010 Paris"


def _series(first: dt.date, last: dt.date, **changes: object) -> SlotSeries:
    values: dict[str, object] = {
        "first_day": first,
        "last_day": last,
        "opens": dt.time(9),
        "closes": dt.time(12),
        "minutes": 60,
        "capacity": 1,
        "location": PLACE,
    }
    values.update(changes)
    return SlotSeries(**values)  # type: ignore[arg-type]


def test_a_9_oclock_slot_stays_at_9_in_paris_across_the_change_to_summer_time() -> None:
    # Summer time starts on Sunday 2027-03-28: Friday is UTC+1, Monday UTC+2.
    slots = plan(_series(dt.date(2027, 3, 26), dt.date(2027, 3, 29)))
    assert [s.astimezone(PARIS).strftime("%a %H:%M") for s, _ in slots] == [
        "Fri 09:00",
        "Fri 10:00",
        "Fri 11:00",
        "Mon 09:00",
        "Mon 10:00",
        "Mon 11:00",
    ]
    assert slots[0][0] == dt.datetime(2027, 3, 26, 8, 0, tzinfo=dt.UTC)
    assert slots[3][0] == dt.datetime(2027, 3, 29, 7, 0, tzinfo=dt.UTC)
    assert all(end - start == dt.timedelta(hours=1) for start, end in slots)


def test_a_series_opened_twice_adds_nothing_and_skips_what_has_begun(app: Flask) -> None:
    series = _series(dt.date(2026, 12, 7), dt.date(2026, 12, 8), capacity=3)
    now = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)  # 10:30 in Paris
    assert open_series(db.session, series, not_before=now) == 4  # Monday 11:00, Tuesday ×3
    assert open_series(db.session, series, not_before=now) == 0
    starts = db.session.scalars(sa.select(PickupSlot.starts_at).order_by(PickupSlot.starts_at))
    assert [s.astimezone(PARIS).strftime("%d %H:%M") for s in starts] == [
        "07 11:00",
        "08 09:00",
        "08 10:00",
        "08 11:00",
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"last_day": dt.date(2026, 12, 1)}, "la fin de la période"),
        ({"minutes": 0}, "durée"),
        ({"capacity": 0}, "capacité"),
        ({"closes": dt.time(8)}, "fermeture"),
    ],
)
def test_a_series_that_makes_no_sense_is_refused_in_french(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _series(dt.date(2026, 12, 7), dt.date(2026, 12, 8), **changes)
