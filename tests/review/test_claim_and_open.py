"""« Prendre et ouvrir » from the queue: one click takes the dossier and opens it; taken by
someone else, the operator stays on the queue and is told who holds it."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.audit.models import AuditEvent
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from tests.concurrency.race import fire_together, login, response_problems
from tests.factories import make_check_run, make_dossier, make_user
from tests.review.test_views import as_


@pytest.fixture
def ready(app: Flask) -> Dossier:
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier)
    db.session.commit()
    return dossier


def _holder(dossier_id: int) -> int | None:
    db.session.expire_all()
    dossier = db.session.get(Dossier, dossier_id)
    assert dossier is not None
    return dossier.claimed_by_id


def _claims_audited(dossier_id: int) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.event_type == "review.claimed", AuditEvent.dossier_id == dossier_id
            )
        )
        or 0
    )


def test_operator_takes_and_opens_a_dossier_from_the_queue_in_one_click(
    client: FlaskClient, ready: Dossier
) -> None:
    operator = make_user(db.session, first_name="Olivia", last_name="Perrin")
    db.session.commit()
    login(client, operator)
    queue = client.get("/validation/?onglet=ready").get_data(as_text=True)
    action = f"/validation/dossiers/{ready.id}/prendre-et-ouvrir"
    form = re.search(rf'<form method="post" action="{action}".*?</form>', queue, re.DOTALL)
    assert form is not None, "no « Prendre et ouvrir » on the dossier's row"
    assert 'name="csrf_token"' in form.group(0)
    assert "Prendre et ouvrir" in form.group(0)

    response = client.post(action, data={"next": "/validation/?onglet=ready"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/validation/dossiers/{ready.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Dossier pris en charge pour" in page
    assert _holder(ready.id) == operator.id
    assert _claims_audited(ready.id) == 1


def test_a_dossier_someone_else_holds_leaves_the_operator_on_the_queue_told_who(
    app: Flask, ready: Dossier
) -> None:
    olivia = make_user(db.session, first_name="Olivia", last_name="Perrin")
    hugo = make_user(db.session, first_name="Hugo", last_name="Martin")
    db.session.commit()
    first, second = app.test_client(), app.test_client()
    login(first, olivia)
    login(second, hugo)
    as_(first).post(f"/validation/dossiers/{ready.id}/prendre-et-ouvrir")

    response = as_(second).post(
        f"/validation/dossiers/{ready.id}/prendre-et-ouvrir",
        data={"next": "/validation/?onglet=ready&tri=recents"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/validation/?onglet=ready&tri=recents")
    queue = as_(second).get(response.headers["Location"]).get_data(as_text=True)
    assert "Dossier déjà pris en charge par Olivia Perrin." in queue
    assert _holder(ready.id) == olivia.id


def test_the_way_back_never_leaves_the_queue(client: FlaskClient, ready: Dossier) -> None:
    operator = make_user(db.session)
    ready.status = "rejected"
    db.session.commit()
    login(client, operator)
    response = client.post(
        f"/validation/dossiers/{ready.id}/prendre-et-ouvrir",
        data={"next": "https://ailleurs.example/validation/"},
    )
    assert response.headers["Location"].endswith("/validation/")
    assert "ailleurs" not in response.headers["Location"]
    page = client.get("/validation/").get_data(as_text=True)
    assert "déjà décidé" in page


def test_an_operator_sees_no_claim_button_on_an_override_only_a_supervisor_can_take(
    client: FlaskClient, ready: Dossier
) -> None:
    operator = make_user(db.session)
    ready.status = "awaiting_second_approval"
    db.session.commit()
    login(client, operator)
    page = client.get("/validation/?onglet=overrides").get_data(as_text=True)
    assert ready.order_number in page
    assert "prendre-et-ouvrir" not in page


@pytest.mark.parametrize("round_number", range(5))
def test_two_operators_taking_the_same_dossier_at_the_same_instant_one_wins(
    app: Flask, ready: Dossier, round_number: int
) -> None:
    olivia = make_user(db.session, first_name="Olivia", last_name="Perrin")
    hugo = make_user(db.session, first_name="Hugo", last_name="Martin")
    db.session.commit()
    senders = []
    for name, user in (("Olivia", olivia), ("Hugo", hugo)):
        client = app.test_client()
        login(client, user)
        senders.append((name, client))
    db.session.commit()  # end the sign-ins' read: the two writers must not wait for it

    outcomes = fire_together(
        app,
        senders,
        f"/validation/dossiers/{ready.id}/prendre-et-ouvrir",
        {"next": "/validation/?onglet=ready"},
    )

    problems = response_problems(
        outcomes, success="Dossier pris en charge pour", refusals=("déjà pris en charge par",)
    )
    assert not problems, problems
    holder = _holder(ready.id)
    winner = next(o for o in outcomes if any(c == "success" for c, _ in o.flashes))
    loser = next(o for o in outcomes if o is not winner)
    assert holder == {"Olivia": olivia.id, "Hugo": hugo.id}[winner.sender]
    assert f"{winner.sender} " in next(t for c, t in loser.flashes if c == "danger")
    assert "File de validation" in loser.body
    assert _claims_audited(ready.id) == 1
