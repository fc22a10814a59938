"""`ra-workbench demo-setup`: a newcomer's first command fills an empty instance once."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from ra_workbench.accounts.models import User
from ra_workbench.checks.models import CheckRun
from ra_workbench.demo import DEMO_USERS, demo_command
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db


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
    staff = {user.email: user for user in db.session.scalars(sa.select(User))}
    for email, *_ in DEMO_USERS:
        assert staff[email].has_totp  # a second factor, printed for the newcomer
        assert f"clé TOTP {staff[email].totp_secret}" in first.output

    again = runner.invoke(demo_command, ["--count", "2", "--seed", "7"])

    assert again.exit_code == 0, again.output
    assert db.session.scalar(sa.select(sa.func.count(Dossier.id))) == 2
