"""Customers whose dossier stays incomplete are reminded after N days, then every N days,
at most M times; a run repeated the same day sends nothing more."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from ra_workbench.jobs.rules import ReminderRules
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.notify.reminders import reminder_dates, reminder_number
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


def test_the_schedule_lists_each_reminder_on_its_day() -> None:
    since = dt.date(2026, 11, 1)
    assert reminder_dates(since, RULES) == [
        dt.date(2026, 11, 8),
        dt.date(2026, 11, 15),
        dt.date(2026, 11, 22),
    ]
    assert reminder_dates(since, ReminderRules(3, 5, 0)) == []
    assert reminder_dates(since, ReminderRules(3, 5, 2)) == [
        dt.date(2026, 11, 4),
        dt.date(2026, 11, 9),
    ]


def test_the_schedule_agrees_with_the_reminder_due_day_by_day() -> None:
    """Reminder n° k is due from its day in the schedule until the next one's."""
    since = dt.date(2026, 10, 30)  # across the end of summer time and of the month
    for rules in (RULES, ReminderRules(1, 1, 5), ReminderRules(10, 3, 2), ReminderRules(4, 9, 0)):
        dates = reminder_dates(since, rules)
        for offset in range(80):
            today = since + dt.timedelta(days=offset)
            expected = max((k for k, due in enumerate(dates, start=1) if due <= today), default=0)
            assert reminder_number(since, today, rules) == expected, (rules, today)
        for number, due in enumerate(dates, start=1):  # each one due on its day, not before
            assert reminder_number(since, due, rules) == number
            assert reminder_number(since, due - dt.timedelta(days=1), rules) == number - 1


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
