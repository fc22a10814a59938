"""Pickup slots opened as a series (weekdays, hours, length, capacity, over a period), as the
demo opens a month of them and as an admin would: planned by a pure function in Paris wall
time (a 9:00 slot stays at 9:00 across a change to or from summer time), stored in UTC."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.audit.service import record
from ra_workbench.clock import PARIS
from ra_workbench.delivery.models import PickupSlot

WEEKDAYS = frozenset(range(5))  # Monday to Friday


@dataclass(frozen=True)
class SlotSeries:
    first_day: dt.date
    last_day: dt.date
    opens: dt.time  # Paris wall time of the first slot of a day
    closes: dt.time  # no slot ends after this
    minutes: int
    capacity: int
    location: str
    weekdays: frozenset[int] = WEEKDAYS  # 0 is Monday

    def __post_init__(self) -> None:
        if self.last_day < self.first_day:
            raise ValueError("la fin de la période doit suivre son début")
        if not 5 <= self.minutes <= 480:
            raise ValueError("la durée d'un créneau va de 5 à 480 minutes")
        if self.capacity < 1:
            raise ValueError("la capacité d'un créneau est d'au moins 1")
        if self.closes <= self.opens:
            raise ValueError("l'heure de fermeture doit suivre l'heure d'ouverture")


def plan(series: SlotSeries) -> list[tuple[dt.datetime, dt.datetime]]:
    """Every slot of the series, (start, end) in UTC."""
    slots = []
    day = series.first_day
    step = dt.timedelta(minutes=series.minutes)
    while day <= series.last_day:
        if day.weekday() in series.weekdays:
            start = dt.datetime.combine(day, series.opens, tzinfo=PARIS)
            closes = dt.datetime.combine(day, series.closes, tzinfo=PARIS)
            while start + step <= closes:
                slots.append((start.astimezone(dt.UTC), (start + step).astimezone(dt.UTC)))
                start = start + step
        day += dt.timedelta(days=1)
    return slots


def _ahead(series: SlotSeries, not_before: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    return [(s, e) for s, e in plan(series) if s > not_before]


def open_series(session: Session, series: SlotSeries, *, not_before: dt.datetime) -> int:
    """Create the series' slots that start after `not_before` and do not exist yet at that
    place and time (so that opening the same series twice adds nothing). Flushes; returns
    how many were created."""
    planned = _ahead(series, not_before)
    if not planned:
        return 0
    existing = set(
        session.scalars(
            sa.select(PickupSlot.starts_at).where(
                PickupSlot.location == series.location,
                PickupSlot.starts_at >= planned[0][0],
                PickupSlot.starts_at <= planned[-1][0],
            )
        )
    )
    existing_utc = {
        t.astimezone(dt.UTC) if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in existing
    }
    created = 0
    for starts, ends in planned:
        if starts in existing_utc:
            continue
        session.add(
            PickupSlot(
                starts_at=starts, ends_at=ends, location=series.location, capacity=series.capacity
            )
        )
        created += 1
    session.flush()
    return created


@dataclass(frozen=True)
class SeriesOpened:
    created: int
    existing: int  # slots of the series, still ahead, that were already open


def open_series_by(
    session: Session, series: SlotSeries, *, actor: User, not_before: dt.datetime
) -> SeriesOpened:
    """An admin opens a series from the staff screen: `open_series`, plus how many of its
    slots were there already, written to the audit trail. Flushes; the caller commits."""
    ahead = len(_ahead(series, not_before))
    created = open_series(session, series, not_before=not_before)
    record(
        session,
        "delivery.slots_opened",
        actor=actor.email,
        actor_id=actor.id,
        payload={
            "first_day": series.first_day.isoformat(),
            "last_day": series.last_day.isoformat(),
            "weekdays": sorted(series.weekdays),
            "opens": series.opens.strftime("%H:%M"),
            "closes": series.closes.strftime("%H:%M"),
            "minutes": series.minutes,
            "capacity": series.capacity,
            "location": series.location,
            "created": created,
            "existing": ahead - created,
        },
    )
    return SeriesOpened(created=created, existing=ahead - created)


def latest_location(session: Session) -> str:
    """Where the latest slot is held: the place a new series most likely opens at."""
    location = session.scalar(
        sa.select(PickupSlot.location).order_by(PickupSlot.starts_at.desc()).limit(1)
    )
    return location or ""
