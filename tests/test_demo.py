"""`ra-workbench demo-setup`: a newcomer's first command fills an empty instance once."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from ra_workbench.accounts.models import Offer, User
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.demo import DEMO_USERS, demo_command, ensure_offers
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
    dossiers = db.session.scalars(sa.select(Dossier)).all()
    assert len(dossiers) == 2
    checked = set(db.session.scalars(sa.select(CheckRun.dossier_id)))
    assert checked == {dossier.id for dossier in dossiers}
    # The offers table is seeded: every dossier paid its offer's price (+ pickup surcharge).
    paid = db.session.scalars(
        sa.select(CheckResult.outcome).where(CheckResult.rule == "payment.amount")
    )
    assert set(paid) == {"pass"}
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
