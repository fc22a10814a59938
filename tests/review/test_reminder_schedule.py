"""The dossier page tells the operator how the customer is being chased: since when the
dossier waits for them, each reminder with its day, and which ones the nightly job sent."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.review.models import Decision, DecisionKind
from ra_workbench.review.tasks import send_reminders
from ra_workbench.unit import unit_of_work
from ra_workbench.web.filters import paris_date
from tests.auth import sign_in
from tests.factories import make_check_run, make_dossier, make_user

# 10:00 in Paris: the customer waits since 2 November (rules/jobs.toml: 7 days, every 7, 3).
REQUESTED_AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _schedule(client: FlaskClient, dossier: Dossier) -> str:
    page = client.get(f"/validation/dossiers/{dossier.id}")
    assert page.status_code == 200
    found = re.search(
        r'<section class="panel" id="reminders">.*?</section>', page.get_data(as_text=True), re.S
    )
    assert found, "no reminder schedule on the page"
    return " ".join(found.group(0).split())


def test_the_operator_sees_the_reminders_due_then_the_one_the_job_sent(
    client: FlaskClient, app: Flask
) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session, status=DossierStatus.DOCUMENTS_REQUESTED.value)
    db.session.add(
        Decision(
            dossier_id=dossier.id,
            kind=DecisionKind.REQUEST_DOCUMENTS,
            actor_id=operator.id,
            at=REQUESTED_AT,
            reasons=[{"code": "kbis", "label": "Extrait Kbis de moins de 3 mois"}],
        )
    )
    db.session.commit()
    sign_in(client, operator)

    schedule = _schedule(client, dossier)
    assert "En attente du client depuis le 02/11/2026 (pièces demandées)" in schedule
    assert "Relance n° 1 — <strong>non envoyée</strong> (prévue le 09/11/2026" in schedule
    assert "Relance n° 2 — <strong>non envoyée</strong> (prévue le 16/11/2026" in schedule
    assert "Relance n° 3 — <strong>non envoyée</strong> (prévue le 23/11/2026" in schedule
    assert 'data-sent="yes"' not in schedule  # their days are past: the job never ran

    with unit_of_work():
        assert send_reminders("2026-11-09") == 1
    sent_on = paris_date(dt.datetime.now(dt.UTC))

    schedule = _schedule(client, dossier)
    assert f"Relance n° 1 — envoyée le {sent_on}" in schedule
    assert "(prévue le 09/11/2026)" in schedule
    assert "Relance n° 2 — <strong>non envoyée</strong> (prévue le 16/11/2026" in schedule
    assert schedule.count('data-sent="yes"') == 1


def test_an_incomplete_dossier_shows_its_schedule_from_its_first_incomplete_checks(
    client: FlaskClient, app: Flask
) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    make_check_run(
        db.session, dossier, [("kbis.age", "fail")], evaluation_date=dt.date(2026, 11, 3)
    )
    make_check_run(
        db.session, dossier, [("kbis.age", "fail")], evaluation_date=dt.date(2026, 11, 4)
    )
    db.session.commit()
    assert dossier.verdict == "incomplete"
    sign_in(client, operator)

    schedule = _schedule(client, dossier)
    assert "En attente du client depuis le 03/11/2026 (dossier incomplet)" in schedule
    assert "Relance n° 1 — <strong>non envoyée</strong> (prévue le 10/11/2026" in schedule


def test_a_dossier_ready_for_review_has_no_reminder_schedule(
    client: FlaskClient, app: Flask
) -> None:
    operator = make_user(db.session)
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier)
    db.session.commit()
    sign_in(client, operator)
    page = client.get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert 'id="reminders"' not in page
