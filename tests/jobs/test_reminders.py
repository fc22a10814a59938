"""Customers whose dossier stays incomplete are reminded after N days, then every N days,
at most M times; a run repeated the same day sends nothing more."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from ra_workbench.jobs.rules import ReminderRules
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.notify.reminders import reminder_number
from ra_workbench.review.tasks import send_reminders
from ra_workbench.unit import unit_of_work
from tests.factories import make_check_run, make_dossier

RULES = ReminderRules(incomplete_after_days=7, repeat_every_days=7, max_reminders=3)


def test_reminder_numbers_follow_the_rules() -> None:
    since = dt.date(2026, 11, 1)
    days = [0, 6, 7, 13, 14, 21, 60]
    assert [reminder_number(since, since + dt.timedelta(days=d), RULES) for d in days] == [
        0,
        0,
        1,
        1,
        2,
        3,
        3,
    ]


def _outbox() -> int:
    with unit_of_work() as session:
        return len(session.scalars(sa.select(OutboxMessage.id)).all())


def test_an_incomplete_dossier_gets_one_reminder_per_period(app: Flask) -> None:
    with unit_of_work() as session:
        dossier = make_dossier(session)
        make_check_run(
            session, dossier, [("kbis.age", "fail")], evaluation_date=dt.date(2026, 11, 1)
        )
        make_check_run(
            session, dossier, [("kbis.age", "fail")], evaluation_date=dt.date(2026, 11, 2)
        )
    with unit_of_work():
        assert send_reminders("2026-11-07") == 0
    with unit_of_work():
        assert send_reminders("2026-11-08") == 1
    first = _outbox()
    assert first >= 1
    with unit_of_work():
        assert send_reminders("2026-11-08") == 0  # same day again
    with unit_of_work():
        assert send_reminders("2026-11-10") == 0  # same reminder period
    assert _outbox() == first
    with unit_of_work():
        assert send_reminders("2026-11-15") == 1
    with unit_of_work() as session:
        bodies = [m.body for m in session.scalars(sa.select(OutboxMessage))]
    assert any("relance n° 2" in b for b in bodies)
    assert any("01/11/2026" in b for b in bodies)
