"""`ra-workbench demo-setup`: a newcomer's first command fills an empty instance once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from ra_workbench.accounts.models import Offer, User
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.clock import PARIS
from ra_workbench.delivery.models import PickupSlot
from ra_workbench.demo import DEMO_USERS, demo_command, ensure_offers, ensure_pickup_slots
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.synth.offers import OFFERS, PICKUP_SURCHARGE


def test_demo_setup_draws_ingests_and_checks_each_dossier_then_stays_idempotent(
    app: Flask,
) -> None:
    runner = app.test_cli_runner()

    first = runner.invoke(demo_command, ["--count", "2", "--seed", "7"])

    assert first.exit_code == 0, first.output
    assert "mot de passe" in first.output
    # The tokens the holders' keys are born on: SoftHSM2, initialised under the data directory.
    softhsm = Path(app.config["RA_SETTINGS"].data_dir) / "softhsm"
    assert f"SoftHSM2, un jeton neuf par émission, sous {softhsm / 'tokens'}" in first.output
    assert (softhsm / "softhsm2.conf").is_file()
    dossiers = db.session.scalars(sa.select(Dossier)).all()
    assert len(dossiers) == 2
    checked = set(db.session.scalars(sa.select(CheckRun.dossier_id)))
    assert checked == {dossier.id for dossier in dossiers}
    # The offers table is seeded: every dossier paid its offer's price (+ pickup surcharge).
    paid = db.session.scalars(
        sa.select(CheckResult.outcome).where(CheckResult.rule == "payment.amount")
    )
    assert set(paid) == {"pass"}
    # The generator's files carry no editor, no update after a registry's, no screen size:
    # file.signals warns only on a deliberately low-resolution identity scan.
    signals = db.session.scalars(sa.select(CheckResult).where(CheckResult.rule == "file.signals"))
    assert {r.evidence.get("signal") for r in signals} <= {None, "low_resolution"}
    staff = {user.email: user for user in db.session.scalars(sa.select(User))}
    for email, *_ in DEMO_USERS:
        assert staff[email].has_totp  # a second factor, printed for the newcomer
        assert f"clé TOTP {staff[email].totp_secret}" in first.output

    again = runner.invoke(demo_command, ["--count", "2", "--seed", "7"])

    assert again.exit_code == 0, again.output
    assert db.session.scalar(sa.select(sa.func.count(Dossier.id))) == 2


def test_demo_seeds_the_offers_the_synthetic_packages_order_once(app: Flask) -> None:
    """payment.amount compares the amount paid with the offers table: the demo fills it with
    the synthetic packages' offers and the pickup surcharge, and never twice."""
    assert ensure_offers() == len(OFFERS) + 1
    prices = dict(db.session.execute(sa.select(Offer.code, Offer.price_ttc)).all())
    assert prices == {code: price for code, _label, price in (*OFFERS, PICKUP_SURCHARGE)}
    assert ensure_offers() == 0
    assert db.session.scalar(sa.select(sa.func.count(Offer.id))) == len(OFFERS) + 1


def test_demo_opens_a_month_of_pickup_slots_from_today_once(app: Flask) -> None:
    """No admin step before a pickup dossier can be booked: a month of weekday slots, and
    today's until midnight (the token is handed over on the appointment's day)."""
    monday_morning = dt.datetime(2026, 12, 7, 7, 0, tzinfo=dt.UTC)  # 8:00 in Paris
    created = ensure_pickup_slots(monday_morning)
    slots = db.session.scalars(sa.select(PickupSlot).order_by(PickupSlot.starts_at)).all()
    assert created == len(slots) > 0
    paris = [s.starts_at.astimezone(PARIS) for s in slots]
    assert paris[0] == dt.datetime(2026, 12, 7, 9, 0, tzinfo=PARIS)  # today, 9:00
    assert {p.weekday() for p in paris} == {0, 1, 2, 3, 4}
    assert max(p.date() for p in paris) == dt.date(2027, 1, 6)
    today = [p for p in paris if p.date() == dt.date(2026, 12, 7)]
    assert (today[0].time(), today[-1].time(), len(today)) == (dt.time(9), dt.time(23), 29)
    assert len([p for p in paris if p.date() == dt.date(2026, 12, 8)]) == 16  # 9:00-17:00
    assert all(s.capacity == 2 for s in slots)
    assert ensure_pickup_slots(monday_morning) == 0
    # Later the same day, only what is still ahead is opened for the following month.
    assert ensure_pickup_slots(dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)) == 0


def test_a_demo_started_on_a_saturday_evening_can_still_hand_over_today(app: Flask) -> None:
    saturday_evening = dt.datetime(2026, 12, 12, 19, 10, tzinfo=dt.UTC)  # 20:10 in Paris
    ensure_pickup_slots(saturday_evening)
    starts = [
        s.starts_at.astimezone(PARIS)
        for s in db.session.scalars(sa.select(PickupSlot).order_by(PickupSlot.starts_at))
    ]
    today = [p.time() for p in starts if p.date() == dt.date(2026, 12, 12)]
    assert today == [dt.time(h, m) for h in (20, 21, 22, 23) for m in (0, 30)][1:-1]
