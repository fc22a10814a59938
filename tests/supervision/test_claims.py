"""The supervisor's view of who holds which dossier: listed with since and until in Paris
time, freed or handed to another operator — only if the claim is still held by the person
the page showed — and every change on the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.accounts.models import User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.db import utcnow
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.web.filters import paris
from tests.factories import make_check_run, make_dossier, make_user
from tests.review.test_views import login

PAGE = "/supervision/prises-en-charge"


@pytest.fixture
def staff(app: Flask) -> dict[str, User]:
    users = {
        "olivia": make_user(db.session, first_name="Olivia", last_name="Perrin"),
        "hugo": make_user(db.session, first_name="Hugo", last_name="Martin"),
        "rita": make_user(db.session, first_name="Rita", last_name="Blanc"),
        "sophie": make_user(
            db.session, role="supervisor", first_name="Sophie", last_name="Lemaire"
        ),
    }
    db.session.commit()
    return users


def _held_by(user: User, minutes_ago: int = 5) -> Dossier:
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier)
    dossier.claimed_by_id = user.id
    dossier.claimed_at = utcnow() - dt.timedelta(minutes=minutes_ago)
    db.session.commit()
    return dossier


def _holder(dossier_id: int) -> int | None:
    db.session.expire_all()
    dossier = db.session.get(Dossier, dossier_id)
    assert dossier is not None
    return dossier.claimed_by_id


def _events(kind: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event_type == kind)))


def test_supervisor_sees_who_holds_which_dossier_since_when_in_paris_time(
    client: FlaskClient, staff: dict[str, User]
) -> None:
    dossier = _held_by(staff["olivia"], minutes_ago=12)
    free = make_dossier(db.session)
    db.session.commit()
    login(client, staff["sophie"])

    page = client.get(PAGE).get_data(as_text=True)

    assert dossier.order_number in page
    assert free.order_number not in page
    assert "Olivia Perrin" in page
    assert dossier.claimed_at is not None
    assert paris(dossier.claimed_at) in page
    minutes = client.application.config["RA_SETTINGS"].claim_minutes
    assert paris(dossier.claimed_at + dt.timedelta(minutes=minutes)) in page
    assert "heure de Paris" in page
    assert "Réassigner à" in page
    assert "Libérer" in page
    assert 'href="/supervision/prises-en-charge"' in client.get("/supervision/").get_data(
        as_text=True
    )


def test_an_expired_claim_is_not_listed(client: FlaskClient, staff: dict[str, User]) -> None:
    minutes = client.application.config["RA_SETTINGS"].claim_minutes
    dossier = _held_by(staff["olivia"], minutes_ago=minutes + 1)
    login(client, staff["sophie"])
    assert dossier.order_number not in client.get(PAGE).get_data(as_text=True)


def test_supervisor_reassigns_a_claim_to_another_operator_and_it_is_audited(
    client: FlaskClient, staff: dict[str, User]
) -> None:
    dossier = _held_by(staff["olivia"])
    login(client, staff["sophie"])

    response = client.post(
        f"{PAGE}/{dossier.id}/reassigner",
        data={"titulaire": staff["olivia"].id, "operateur": staff["hugo"].id},
        follow_redirects=True,
    )

    assert "Dossier réassigné à Hugo Martin" in response.get_data(as_text=True)
    assert _holder(dossier.id) == staff["hugo"].id
    [event] = _events("review.claim_reassigned")
    assert event.actor == staff["sophie"].email
    assert event.dossier_id == dossier.id
    assert event.payload["from_id"] == staff["olivia"].id
    assert event.payload["to_id"] == staff["hugo"].id


def test_a_stale_reassignment_is_refused_when_the_claim_changed_hands_meanwhile(
    app: Flask, staff: dict[str, User]
) -> None:
    dossier = _held_by(staff["olivia"])
    supervisor = app.test_client()
    login(supervisor, staff["sophie"])
    assert "Olivia Perrin" in supervisor.get(PAGE).get_data(as_text=True)
    # Meanwhile Olivia lets it go and Rita takes it.
    dossier.claimed_by_id = staff["rita"].id
    dossier.claimed_at = utcnow()
    db.session.commit()

    response = supervisor.post(
        f"{PAGE}/{dossier.id}/reassigner",
        data={"titulaire": staff["olivia"].id, "operateur": staff["hugo"].id},
        follow_redirects=True,
    )

    text = response.get_data(as_text=True).replace("&#39;", "'")
    assert "n'est plus pris en charge par Olivia Perrin" in text
    assert "il est maintenant pris en charge par Rita Blanc" in text
    assert "Rien n'a été modifié" in text
    assert _holder(dossier.id) == staff["rita"].id
    assert _events("review.claim_reassigned") == []


def test_supervisor_frees_a_claim_and_a_stale_release_is_refused(
    client: FlaskClient, staff: dict[str, User]
) -> None:
    dossier = _held_by(staff["olivia"])
    login(client, staff["sophie"])

    response = client.post(
        f"{PAGE}/{dossier.id}/liberer",
        data={"titulaire": staff["olivia"].id},
        follow_redirects=True,
    )
    assert "Dossier libéré : Olivia Perrin ne le tient plus." in response.get_data(as_text=True)
    assert _holder(dossier.id) is None
    [event] = _events("review.claim_released")
    assert event.payload == {"claimed_by_id": staff["olivia"].id, "by_supervisor": True}

    response = client.post(
        f"{PAGE}/{dossier.id}/liberer",
        data={"titulaire": staff["olivia"].id},
        follow_redirects=True,
    )
    text = response.get_data(as_text=True).replace("&#39;", "'")
    assert "il n'est plus pris en charge par personne" in text
    assert len(_events("review.claim_released")) == 1


def test_a_claim_is_never_handed_to_one_of_the_dossiers_people(
    client: FlaskClient, staff: dict[str, User]
) -> None:
    dossier = _held_by(staff["olivia"])
    holder = make_user(db.session, first_name="Claire", last_name="Durand")  # the holder
    db.session.commit()
    login(client, staff["sophie"])

    response = client.post(
        f"{PAGE}/{dossier.id}/reassigner",
        data={"titulaire": staff["olivia"].id, "operateur": holder.id},
        follow_redirects=True,
    )

    text = response.get_data(as_text=True).replace("&#39;", "'")
    assert "Conflit d'intérêts : Claire Durand est porteur de ce dossier" in text
    assert _holder(dossier.id) == staff["olivia"].id


def test_an_override_to_second_is_only_handed_to_a_supervisor(
    client: FlaskClient, staff: dict[str, User]
) -> None:
    dossier = _held_by(staff["sophie"])
    dossier.status = "awaiting_second_approval"
    db.session.commit()
    other = make_user(db.session, role="supervisor", first_name="Paul", last_name="Girard")
    db.session.commit()
    login(client, staff["sophie"])

    refused = client.post(
        f"{PAGE}/{dossier.id}/reassigner",
        data={"titulaire": staff["sophie"].id, "operateur": staff["hugo"].id},
        follow_redirects=True,
    )
    assert "ne peut être confiée qu'à un superviseur" in refused.get_data(as_text=True).replace(
        "&#39;", "'"
    )
    client.post(
        f"{PAGE}/{dossier.id}/reassigner",
        data={"titulaire": staff["sophie"].id, "operateur": other.id},
    )
    assert _holder(dossier.id) == other.id


def test_an_operator_cannot_reach_the_claims_page_nor_move_a_claim(
    client: FlaskClient, staff: dict[str, User]
) -> None:
    dossier = _held_by(staff["olivia"])
    login(client, staff["hugo"])

    assert client.get(PAGE).status_code == 403
    taken = client.post(
        f"{PAGE}/{dossier.id}/reassigner",
        data={"titulaire": staff["olivia"].id, "operateur": staff["hugo"].id},
    )
    assert taken.status_code == 403
    freed = client.post(f"{PAGE}/{dossier.id}/liberer", data={"titulaire": staff["olivia"].id})
    assert freed.status_code == 403
    assert _holder(dossier.id) == staff["olivia"].id
    assert "prises-en-charge" not in client.get("/validation/").get_data(as_text=True)
