"""The operators' screens through the app: permissions, claims, decisions, documents."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.accounts.models import User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.db import utcnow
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.portal.status import order_status
from tests.auth import sign_in
from tests.factories import (
    make_check_run,
    make_document,
    make_dossier,
    make_extraction,
    make_person,
    make_user,
    pdf_bytes,
)

PASSWORD = "correct-horse-battery"


def as_(client: FlaskClient) -> FlaskClient:
    """The test's application context outlives requests, and Flask-Login caches the user
    on `g`: forget it so that this client's session cookie decides who is signed in."""
    g.pop("_login_user", None)
    return client


def login(client: FlaskClient, user: User) -> None:
    sign_in(client, user)


def holds_the_claim(dossier: Dossier, user: User) -> None:
    """Identity copies open for the dossier's claimant (documents/access.py)."""
    dossier.claimed_by_id = user.id
    dossier.claimed_at = utcnow()
    db.session.commit()


def _events(kind: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event_type == kind)))


def _status(dossier_id: int) -> str:
    db.session.expire_all()
    dossier = db.session.get(Dossier, dossier_id)
    assert dossier is not None
    return dossier.status


@pytest.fixture
def operator(app: Flask) -> User:
    user = make_user(db.session, first_name="Olivia", last_name="Perrin")
    db.session.commit()
    return user


@pytest.fixture
def clean(app: Flask) -> Dossier:
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier)
    make_document(db.session, dossier, side="recto")
    make_document(db.session, dossier, side="verso")
    db.session.commit()
    return dossier


# --- permissions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/validation/",
        "/validation/api/file",
        "/validation/dossiers/1",
        "/documents/1",
        "/documents/1/pages/1.png",
        "/admin/",
        "/admin/admin_users/",
    ],
)
def test_anonymous_visitors_are_sent_to_the_login_page(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


@pytest.mark.parametrize(
    "path",
    [
        "/validation/dossiers/1/prendre",
        "/validation/dossiers/1/valider",
        "/validation/dossiers/1/seconder",
        "/validation/dossiers/1/demander-pieces",
        "/validation/dossiers/1/refuser",
    ],
)
def test_anonymous_visitors_cannot_post_decisions(client: FlaskClient, path: str) -> None:
    response = client.post(path)
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_operator_cannot_second_an_override_nor_open_the_admin(
    client: FlaskClient, operator: User, clean: Dossier
) -> None:
    login(client, operator)
    assert client.post(f"/validation/dossiers/{clean.id}/seconder").status_code == 403
    assert client.post(f"/validation/dossiers/{clean.id}/refuser-derogation").status_code == 403
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/admin_users/").status_code == 403
    assert client.get("/admin/admin_offers/").status_code == 403
    assert client.get("/admin/admin_slots/").status_code == 403


def test_home_page_leads_to_the_queue(client: FlaskClient, operator: User) -> None:
    login(client, operator)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/validation/")


# --- queue and dossier page ----------------------------------------------------------------


def test_queue_page_lists_the_ready_dossier_with_counts(
    client: FlaskClient, operator: User, clean: Dossier
) -> None:
    login(client, operator)
    page = client.get("/validation/").get_data(as_text=True)
    assert clean.order_number in page
    assert "Prêts pour validation" in page
    assert "en retard" in page  # submitted 2026-11-20, SLA 5 days
    data = client.get("/validation/api/file?onglet=ready").get_json()
    assert data["counts"]["ready"] == 1
    assert data["rows"][0]["order_number"] == clean.order_number
    data = client.get(f"/validation/api/file?q={clean.order_number[:3]}xyz").get_json()
    assert data["total"] == 0


def test_dossier_page_shows_failures_first_and_the_mrz_beside_the_declaration(
    client: FlaskClient, operator: User
) -> None:
    dossier = make_dossier(db.session)
    make_check_run(
        db.session,
        dossier,
        [
            {
                "rule": "identity.name_match",
                "outcome": "fail",
                "message": "Le nom lu sur la pièce ne correspond pas",
                "person_role": "holder",
                "evidence": {"declared": "DURAND", "extracted": "DURANT"},
            }
        ],
    )
    recto = make_document(db.session, dossier, side="recto")
    make_document(db.session, dossier, side="verso")
    make_extraction(
        db.session,
        recto,
        "identity",
        {
            "mrz": {
                "surname": "DURANT",
                "given_names": ["CLAIRE", "MARIE"],
                "document_number": "X4RTBPFW4",
                "lines": ["IDFRADURANT<<<<<<<<<<<<<<<<<<<<<<<<<", "X4RTBPFW46FRA8001014F3001016"],
            }
        },
    )
    kbis = make_document(db.session, dossier, type="kbis", person_role=None, side=None)
    make_extraction(
        db.session,
        kbis,
        "kbis",
        {"kbis": {"siren": "732829320", "denomination": "ATELIERS MOREL", "managers": []}},
    )
    db.session.commit()
    login(client, operator)
    html = client.get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert html.index("identity.name_match") < html.index("kbis.age")
    assert "DURANT" in html
    assert "écart" in html
    assert "IDFRADURANT&lt;&lt;" in html  # the MRZ lines under the recto
    # Not claimed yet: the data, not the image (tests/documents/test_need_to_know.py).
    assert f'src="/documents/{recto.id}"' not in html
    assert "identité non affichée" in html
    assert f"/documents/{kbis.id}/pages/1.png" in html
    assert "Prendre en charge" in html


# --- claims and decisions through the forms ------------------------------------------------


def test_operator_claims_then_a_colleague_sees_who_holds_the_dossier(
    app: Flask, operator: User, clean: Dossier
) -> None:
    colleague = make_user(db.session)
    db.session.commit()
    first, second = app.test_client(), app.test_client()
    login(first, operator)
    login(second, colleague)
    response = as_(first).post(f"/validation/dossiers/{clean.id}/prendre", follow_redirects=True)
    assert "Dossier pris en charge" in response.get_data(as_text=True)
    response = as_(second).post(f"/validation/dossiers/{clean.id}/prendre", follow_redirects=True)
    assert "déjà pris en charge par Olivia Perrin" in response.get_data(as_text=True)
    assert "Olivia Perrin" in as_(second).get("/validation/").get_data(as_text=True)


def test_operator_approves_a_clean_dossier_through_the_page(
    client: FlaskClient, operator: User, clean: Dossier
) -> None:
    login(client, operator)
    client.post(f"/validation/dossiers/{clean.id}/prendre")
    page = client.get(f"/validation/dossiers/{clean.id}").get_data(as_text=True)
    assert "Valider le dossier" in page
    from ra_workbench.checks.service import latest_run

    run = latest_run(db.session, clean.id)
    assert run is not None
    response = client.post(
        f"/validation/dossiers/{clean.id}/valider",
        data={"approve-check_run_id": str(run.id), "approve-comment": "Conforme"},
        follow_redirects=True,
    )
    assert "Dossier validé" in response.get_data(as_text=True)
    assert _status(clean.id) == DossierStatus.APPROVED


def test_operator_in_conflict_of_interest_is_refused_and_the_attempt_is_audited(
    client: FlaskClient, clean: Dossier
) -> None:
    holder = make_user(db.session, first_name="Claire", last_name="Durand")
    db.session.commit()
    login(client, holder)
    response = client.post(f"/validation/dossiers/{clean.id}/prendre", follow_redirects=True)
    assert "Conflit d'intérêts" in response.get_data(as_text=True)
    [event] = _events("review.conflict_of_interest")
    assert event.payload == {"action": "claim", "person_role": "holder"}
    assert event.actor_id == holder.id


def test_request_documents_through_the_form(client: FlaskClient, operator: User) -> None:
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, [("kbis.age", "fail")])
    db.session.commit()
    login(client, operator)
    client.post(f"/validation/dossiers/{dossier.id}/prendre")
    page = client.get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="kbis\.age"', page)  # failing rules preselected
    response = client.post(
        f"/validation/dossiers/{dossier.id}/demander-pieces",
        data={"request-reasons": ["kbis.age"], "request-comment": "Kbis du mois"},
        follow_redirects=True,
    )
    assert "Pièces demandées au client" in response.get_data(as_text=True)
    assert _status(dossier.id) == DossierStatus.DOCUMENTS_REQUESTED


def test_override_then_a_supervisor_seconds_it_through_the_pages(
    app: Flask, operator: User
) -> None:
    supervisor = make_user(db.session, role="supervisor")
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier, [("kbis.age", "fail")])
    db.session.commit()
    op, sup = app.test_client(), app.test_client()
    login(op, operator)
    login(sup, supervisor)
    as_(op).post(f"/validation/dossiers/{dossier.id}/prendre")
    response = as_(op).post(
        f"/validation/dossiers/{dossier.id}/deroger",
        data={"override-justification": "Kbis de 3 mois et 1 jour, client connu"},
        follow_redirects=True,
    )
    assert "attend la validation d" in response.get_data(as_text=True)
    assert _status(dossier.id) == DossierStatus.AWAITING_SECOND_APPROVAL
    queue = as_(sup).get("/validation/api/file?onglet=overrides").get_json()
    assert queue["counts"]["overrides"] == 1
    as_(sup).post(f"/validation/dossiers/{dossier.id}/prendre")
    page = as_(sup).get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert "Kbis de 3 mois et 1 jour" in page
    response = as_(sup).post(
        f"/validation/dossiers/{dossier.id}/seconder",
        data={"second-comment": "OK"},
        follow_redirects=True,
    )
    assert "Dérogation secondée" in response.get_data(as_text=True)
    assert _status(dossier.id) == DossierStatus.APPROVED


def test_reject_through_the_form_is_final(client: FlaskClient, operator: User) -> None:
    dossier = make_dossier(db.session)
    db.session.commit()
    login(client, operator)
    client.post(f"/validation/dossiers/{dossier.id}/prendre")
    response = client.post(
        f"/validation/dossiers/{dossier.id}/refuser",
        data={
            "reject-reason": "duplicate",
            "reject-comment": "Doublon de 300001",
            "reject-confirm": "y",
        },
        follow_redirects=True,
    )
    assert "Dossier refusé" in response.get_data(as_text=True)
    assert _status(dossier.id) == DossierStatus.REJECTED


def test_a_final_refusal_must_be_confirmed(client: FlaskClient, operator: User) -> None:
    dossier = make_dossier(db.session)
    db.session.commit()
    login(client, operator)
    client.post(f"/validation/dossiers/{dossier.id}/prendre")
    page = client.get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert "Je confirme le refus définitif" in page
    response = client.post(
        f"/validation/dossiers/{dossier.id}/refuser",
        data={"reject-reason": "duplicate", "reject-comment": "Doublon de 300001"},
        follow_redirects=True,
    )
    assert "Cochez la case pour confirmer que le refus est définitif" in response.get_data(
        as_text=True
    )
    assert _status(dossier.id) == DossierStatus.PENDING


def test_a_refused_order_tells_every_person_why_and_the_portal_says_it_too(
    client: FlaskClient, operator: User
) -> None:
    dossier = make_dossier(db.session)
    dossier.people.append(
        make_person(
            "mandataire",
            first_name="LUC",
            last_name="GIRARD",
            email="l.girard@ateliers-morel.fr",
        )
    )
    db.session.commit()
    login(client, operator)
    client.post(f"/validation/dossiers/{dossier.id}/prendre")
    client.post(
        f"/validation/dossiers/{dossier.id}/refuser",
        data={"reject-reason": "organisation", "reject-comment": "", "reject-confirm": "y"},
    )
    assert _status(dossier.id) == DossierStatus.REJECTED

    messages = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.template == "rejected")
    ).all()
    recipients = {m.recipient for m in messages}
    people = {p.email for p in db.session.get(Dossier, dossier.id).people}  # type: ignore[union-attr]
    assert recipients == people  # holder, legal representative and mandataire
    assert len(people) == 3
    for message in messages:
        assert "Organisme non vérifiable ou radié" in message.body
        assert "support@certeurope.fr" in message.body
    status = order_status(dossier.order_number)
    assert status is not None
    assert status["status"] == "rejected"
    assert status["rejection_reason"] == "Organisme non vérifiable ou radié"


# --- documents -----------------------------------------------------------------------------


def test_document_bytes_are_served_to_staff_with_headers_and_every_view_is_audited(
    client: FlaskClient, operator: User, clean: Dossier
) -> None:
    document = clean.documents[0]
    holds_the_claim(clean, operator)
    login(client, operator)
    response = client.get(f"/documents/{document.id}")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline; filename=")
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    client.get(f"/documents/{document.id}")
    events = _events("document.viewed")
    assert len(events) == 2
    assert events[0].payload["document_id"] == document.id
    assert events[0].actor_id == operator.id
    assert events[0].dossier_id == clean.id


def test_pdf_pages_are_rendered_to_png(client: FlaskClient, operator: User) -> None:
    dossier = make_dossier(db.session)
    kbis = make_document(
        db.session, dossier, type="kbis", person_role=None, side=None, data=pdf_bytes(pages=2)
    )
    kbis.page_count = 2
    db.session.commit()
    login(client, operator)
    response = client.get(f"/documents/{kbis.id}/pages/2.png")
    assert response.status_code == 200
    assert response.data.startswith(b"\x89PNG")
    assert "no-store" in response.headers["Cache-Control"]
    assert client.get(f"/documents/{kbis.id}/pages/3.png").status_code == 404
    assert _events("document.viewed")[0].payload["page"] == 2


def test_a_pdf_longer_than_the_checks_accept_shows_only_that_many_pages(
    app: Flask, client: FlaskClient, operator: User
) -> None:
    limit = app.config["RA_RULES"].files.max_pdf_pages
    dossier = make_dossier(db.session)
    kbis = make_document(
        db.session,
        dossier,
        type="kbis",
        person_role=None,
        side=None,
        data=pdf_bytes(pages=limit + 1),
        page_count=limit + 1,
    )
    db.session.commit()
    login(client, operator)
    html = client.get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert html.count(f"/documents/{kbis.id}/pages/") == limit
    assert f"/documents/{kbis.id}/pages/{limit}.png" in html
    assert f"Document de {limit + 1} pages : seules les {limit} premières sont affichées" in html
    assert client.get(f"/documents/{kbis.id}/pages/{limit + 1}.png").status_code == 404


def test_a_pdf_of_ten_thousand_pages_costs_no_rendering(
    app: Flask, client: FlaskClient, operator: User
) -> None:
    limit = app.config["RA_RULES"].files.max_pdf_pages
    dossier = make_dossier(db.session)
    # The page count ingestion recorded; the renderer would refuse the file after parsing it.
    kbis = make_document(
        db.session, dossier, type="kbis", person_role=None, side=None, page_count=10_000
    )
    db.session.commit()
    login(client, operator)
    html = client.get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert html.count(f"/documents/{kbis.id}/pages/") == limit
    assert f"Document de 10000 pages : seules les {limit} premières sont affichées" in html
    response = client.get(f"/documents/{kbis.id}/pages/1.png")
    assert response.status_code == 422
    assert _events("document.viewed") == []


def test_a_file_that_is_not_an_image_or_pdf_is_only_downloadable(
    client: FlaskClient, operator: User
) -> None:
    dossier = make_dossier(db.session)
    hostile = make_document(
        db.session, dossier, data=b"<html><script>alert(1)</script></html>", original_name="x.png"
    )
    holds_the_claim(dossier, operator)
    login(client, operator)
    response = client.get(f"/documents/{hostile.id}")
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_unknown_document_is_404(client: FlaskClient, operator: User) -> None:
    login(client, operator)
    assert client.get("/documents/999999").status_code == 404
    assert _events("document.viewed") == []


# --- admin ---------------------------------------------------------------------------------


def test_admin_creates_a_user_with_a_hashed_password_and_the_change_is_audited(
    client: FlaskClient, app: Flask
) -> None:
    admin = make_user(db.session, role="admin")
    db.session.commit()
    login(client, admin)
    listing = client.get("/admin/admin_users/")
    assert listing.status_code == 200
    assert "$argon2" not in listing.get_data(as_text=True)
    response = client.post(
        "/admin/admin_users/new/",
        data={
            "email": "nouvel.operateur@certeurope.example",
            "first_name": "Nina",
            "last_name": "Morel",
            "role": "operator",
            "active": "y",
            "new_password": "un-mot-de-passe-solide",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    created = db.session.scalar(
        sa.select(User).where(User.email == "nouvel.operateur@certeurope.example")
    )
    assert created is not None
    assert created.password_hash.startswith("$argon2")
    assert created.role == "operator"
    [change] = _events("admin.change")
    assert change.payload["model"] == "users"
    assert "new_password" not in change.payload["fields"]
    edit = client.get(f"/admin/admin_users/edit/?id={created.id}").get_data(as_text=True)
    assert "$argon2" not in edit
    assert "password_hash" not in edit


def test_admin_pages_run_their_scripts_under_a_nonce(client: FlaskClient) -> None:
    admin = make_user(db.session, role="admin")
    db.session.commit()
    login(client, admin)
    response = client.get("/admin/admin_offers/")
    csp = response.headers["Content-Security-Policy"]
    assert "'nonce-" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_admin_creates_a_pickup_slot_in_paris_time_stored_in_utc(client: FlaskClient) -> None:
    from ra_workbench.delivery.models import PickupSlot

    admin = make_user(db.session, role="admin")
    db.session.commit()
    login(client, admin)
    response = client.post(
        "/admin/admin_slots/new/",
        data={
            "starts_at": "2026-12-03 09:00:00",
            "ends_at": "2026-12-03 09:30:00",
            "location": "CertEurope, 26 rue du Faubourg Poissonnière, Paris",
            "capacity": "2",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    slot = db.session.scalar(sa.select(PickupSlot))
    assert slot is not None
    assert slot.starts_at.isoformat() == "2026-12-03T08:00:00+00:00"
    assert slot.capacity == 2
    [change] = _events("admin.change")
    assert change.payload["model"] == "pickup_slots"
