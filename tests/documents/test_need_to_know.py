"""Need to know for identity copies (REQUIREMENTS 15, REG-6.2.2-22/-23): the claimant and
the supervisors open them; another operator sees the dossier's data but not the images,
unless she states a reason (« bris de glace »), which is in the audit trail with every view
it allows and on the supervisors' list."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.accounts.models import User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.db import utcnow
from ra_workbench.documents.models import Document, IdentityAccessGrant
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from tests.auth import sign_in
from tests.factories import make_document, make_dossier, make_user, pdf_bytes

REASON = "Appel du porteur au support : vérification de la pièce demandée par le client"


@pytest.fixture
def operator(app: Flask) -> User:
    user = make_user(db.session, first_name="Nadia", last_name="Berger")
    db.session.commit()
    return user


@pytest.fixture
def dossier(app: Flask) -> Dossier:
    dossier = make_dossier(db.session)
    db.session.commit()
    return dossier


@pytest.fixture
def recto(dossier: Dossier) -> Document:
    document = make_document(db.session, dossier, side="recto")
    db.session.commit()
    return document


def _events(kind: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.event_type == kind).order_by(AuditEvent.seq)
        )
    )


def _as(client: FlaskClient, user: User) -> FlaskClient:
    g.pop("_login_user", None)
    sign_in(client, user)
    return client


def _other_client(client: FlaskClient, user: User) -> FlaskClient:
    """A second browser, for a second person."""
    return _as(client.application.test_client(), user)


def test_an_operator_who_has_not_claimed_the_dossier_sees_its_data_but_not_the_identity_images(
    client: FlaskClient, operator: User, dossier: Dossier, recto: Document
) -> None:
    kbis = make_document(db.session, dossier, type="kbis", person_role=None, side=None)
    db.session.commit()
    _as(client, operator)

    response = client.get(f"/documents/{recto.id}")
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "qui a pris en charge le dossier et aux superviseurs" in text
    assert "bris de glace" in text
    assert f"/documents/dossiers/{dossier.id}/bris-de-glace" in text  # the form
    [refusal] = _events("document.need_to_know_refused")
    assert refusal.payload["document_id"] == recto.id
    assert refusal.actor_id == operator.id
    assert _events("document.viewed") == []
    # Pages of a PDF identity copy are refused the same way.
    assert client.get(f"/documents/{recto.id}/apercu").status_code == 403

    page = client.get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert "DURAND" in page  # the declared data
    assert "identité non affichée" in page
    assert f'src="/documents/{recto.id}"' not in page
    assert f'href="/documents/{recto.id}"' not in page
    # The Kbis is no identity copy: every reviewer opens it.
    assert client.get(f"/documents/{kbis.id}").status_code in (200, 302)


def test_with_a_stated_reason_she_may_and_the_reason_is_audited_and_listed_for_supervisors(
    client: FlaskClient, operator: User, dossier: Dossier, recto: Document
) -> None:
    supervisor = make_user(db.session, role="supervisor")
    db.session.commit()
    _as(client, operator)

    response = client.post(
        f"/documents/dossiers/{dossier.id}/bris-de-glace", data={"reason": REASON}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/validation/dossiers/{dossier.id}")
    page = client.get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert "bris de glace" in page  # the confirmation
    assert f'src="/documents/{recto.id}"' in page

    response = client.get(f"/documents/{recto.id}")
    assert response.status_code == 200
    [stated] = _events("document.break_glass")
    assert stated.payload["reason"] == REASON
    assert stated.actor_id == operator.id
    assert stated.dossier_id == dossier.id
    [viewed] = _events("document.viewed")
    assert viewed.payload["access"] == "break_glass"
    assert viewed.payload["reason"] == REASON

    listing = _other_client(client, supervisor).get("/supervision/bris-de-glace")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert REASON in text
    assert dossier.order_number in text
    assert "Nadia Berger" in text
    # The list is the supervisors' alone.
    g.pop("_login_user", None)
    assert client.get("/supervision/bris-de-glace").status_code == 403


def test_a_reason_too_short_opens_nothing(
    client: FlaskClient, operator: User, dossier: Dossier, recto: Document
) -> None:
    _as(client, operator)
    client.post(f"/documents/dossiers/{dossier.id}/bris-de-glace", data={"reason": "vu"})
    page = client.get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert "Indiquez la raison de cet acc" in page
    assert client.get(f"/documents/{recto.id}").status_code == 403
    assert _events("document.break_glass") == []


def test_a_break_glass_access_ends_with_its_time(
    client: FlaskClient, operator: User, dossier: Dossier, recto: Document
) -> None:
    _as(client, operator)
    client.post(f"/documents/dossiers/{dossier.id}/bris-de-glace", data={"reason": REASON})
    assert client.get(f"/documents/{recto.id}").status_code == 200
    grant = db.session.scalars(sa.select(IdentityAccessGrant)).one()
    grant.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert client.get(f"/documents/{recto.id}").status_code == 403


def test_the_claimant_and_a_supervisor_open_identity_copies_without_a_reason(
    client: FlaskClient, operator: User, dossier: Dossier, recto: Document
) -> None:
    supervisor = make_user(db.session, role="supervisor")
    db.session.commit()
    _as(client, operator)
    assert client.post(f"/validation/dossiers/{dossier.id}/prendre").status_code == 302
    assert client.get(f"/documents/{recto.id}").status_code == 200

    other = _other_client(client, supervisor)
    assert other.get(f"/documents/{recto.id}").status_code == 200
    assert [e.payload["access"] for e in _events("document.viewed")] == ["claimant", "supervisor"]
    assert all("reason" not in e.payload for e in _events("document.viewed"))
    assert _events("document.break_glass") == []


def test_a_claim_that_expired_no_longer_opens_the_copies(
    app: Flask, client: FlaskClient, operator: User, recto: Document
) -> None:
    dossier = db.session.get(Dossier, recto.dossier_id)
    assert dossier is not None
    minutes = app.config["RA_SETTINGS"].claim_minutes
    dossier.claimed_by_id = operator.id
    dossier.claimed_at = utcnow() - dt.timedelta(minutes=minutes + 1)
    db.session.commit()
    _as(client, operator)
    assert client.get(f"/documents/{recto.id}").status_code == 403


def test_a_pdf_identity_copy_pages_follow_the_same_rule(
    client: FlaskClient, operator: User, dossier: Dossier
) -> None:
    scan = make_document(db.session, dossier, data=pdf_bytes(pages=1), side="recto")
    scan.page_count = 1
    db.session.commit()
    _as(client, operator)
    assert client.get(f"/documents/{scan.id}/pages/1.png").status_code == 403
    client.post(f"/documents/dossiers/{dossier.id}/bris-de-glace", data={"reason": REASON})
    assert client.get(f"/documents/{scan.id}/pages/1.png").status_code == 200
    [viewed] = _events("document.viewed")
    assert viewed.payload["reason"] == REASON


def test_a_stated_reason_never_opens_the_copies_of_a_dossier_she_is_part_of(
    client: FlaskClient, recto: Document
) -> None:
    # The operator is the dossier's holder (tests.factories.make_person: Claire DURAND).
    conflicted = make_user(db.session, first_name="Claire", last_name="Durand")
    db.session.commit()
    _as(client, conflicted)
    response = client.post(
        f"/documents/dossiers/{recto.dossier_id}/bris-de-glace", data={"reason": REASON}
    )
    assert response.status_code == 403
    assert "Conflit d" in response.get_data(as_text=True)
    assert _events("document.break_glass") == []
    assert client.get(f"/documents/{recto.id}").status_code == 403
