"""Olivia Perrin, operator, is the holder of a dossier however its form spells her: she can
neither claim it, nor decide on it, nor open its documents; each attempt is audited."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.accounts.models import User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.db import utcnow
from ra_workbench.dossiers.models import Dossier, Person, PersonRole
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from tests.factories import (
    make_check_run,
    make_document,
    make_dossier,
    make_person,
    make_user,
    pdf_bytes,
)
from tests.review.test_views import as_, login

EMAIL = "olivia.perrin@certeurope.example"
ZERO_WIDTH_SPACE = "\u200b"
CYRILLIC_ER = "\u0420"  # Р
CYRILLIC_IE = "\u0415"  # Е


@pytest.fixture
def olivia(app: Flask) -> User:
    user = make_user(db.session, email=EMAIL, first_name="Olivia", last_name="Perrin")
    db.session.commit()
    return user


def _holder(**fields: str) -> Callable[[], Person]:
    return lambda: make_person(PersonRole.HOLDER, **fields)


HOLDERS_WHO_ARE_OLIVIA = {
    "hyphenated_surname": _holder(first_name="OLIVIA", last_name="PERRIN-DUPONT"),
    "email_with_a_zero_width_space": _holder(
        first_name="CLAIRE",
        last_name="DURAND",
        email=f"olivia.perrin{ZERO_WIDTH_SPACE}@certeurope.example",
    ),
    "cyrillic_look_alike_letters": _holder(
        first_name="OLIVIA", last_name=f"{CYRILLIC_ER}{CYRILLIC_IE}RRIN"
    ),
    "extra_given_name": _holder(first_name="OLIVIA MARIE", last_name="PERRIN"),
    "all_at_once": _holder(first_name="Olivia Marie", last_name=f"{CYRILLIC_ER}errin-Dupont"),
}


def _dossier(holder: Person) -> tuple[Dossier, int, int]:
    """A pending dossier with the holder's identity card (an image) and a Kbis (a PDF)."""
    dossier = make_dossier(
        db.session, people=[holder, make_person(PersonRole.LEGAL_REPRESENTATIVE)]
    )
    make_check_run(db.session, dossier)
    recto = make_document(db.session, dossier, side="recto")
    kbis = make_document(
        db.session, dossier, type="kbis", person_role=None, side=None, data=pdf_bytes()
    )
    db.session.commit()
    return dossier, recto.id, kbis.id


def _events(kind: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event_type == kind)))


@pytest.mark.parametrize("spelling", HOLDERS_WHO_ARE_OLIVIA)
def test_olivia_cannot_claim_decide_on_or_open_the_documents_of_her_own_dossier(
    client: FlaskClient, olivia: User, spelling: str
) -> None:
    dossier, recto_id, kbis_id = _dossier(HOLDERS_WHO_ARE_OLIVIA[spelling]())
    login(client, olivia)

    page = client.get(f"/validation/dossiers/{dossier.id}").get_data(as_text=True)
    assert "Conflit d'intérêts : vous êtes porteur de ce dossier" in page
    assert f"/documents/{recto_id}" not in page  # no viewer, no « Ouvrir »
    assert "Pièce non affichée : conflit d'intérêts." in page

    response = client.post(f"/validation/dossiers/{dossier.id}/prendre", follow_redirects=True)
    assert "Conflit d'intérêts" in response.get_data(as_text=True)
    assert db.session.get(Dossier, dossier.id).claimed_by_id is None  # type: ignore[union-attr]

    # Even holding the claim (granted before the rule saw through the spelling), no decision.
    db.session.expire_all()
    held = db.session.get(Dossier, dossier.id)
    assert held is not None
    held.claimed_by_id, held.claimed_at = olivia.id, utcnow()
    db.session.commit()
    response = as_(client).post(
        f"/validation/dossiers/{dossier.id}/valider",
        data={"approve-comment": "Conforme"},
        follow_redirects=True,
    )
    assert "Conflit d'intérêts" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).status == DossierStatus.PENDING  # type: ignore[union-attr]
    assert [e.payload["action"] for e in _events("review.conflict_of_interest")] == [
        "claim",
        "approve",
    ]

    for path in (
        f"/documents/{recto_id}",
        f"/documents/{recto_id}?telecharger=1",
        f"/documents/{recto_id}/apercu",
        f"/documents/{kbis_id}",
        f"/documents/{kbis_id}/pages/1.png",
    ):
        response = as_(client).get(path)
        assert response.status_code == 403, path
        assert "vous êtes porteur de ce dossier, vous ne pouvez pas consulter ses pièces" in (
            response.get_data(as_text=True)
        )
        assert response.headers["Cache-Control"].startswith("no-store")
    assert _events("document.viewed") == []
    refusals = _events("document.conflict_of_interest")
    assert len(refusals) == 5
    assert refusals[0].actor_id == olivia.id
    assert refusals[0].dossier_id == dossier.id
    assert refusals[0].payload["document_id"] == recto_id
    assert refusals[0].payload["conflict_with"] == PersonRole.HOLDER


def test_olivia_handles_the_dossier_of_someone_who_only_shares_a_surname(
    client: FlaskClient, olivia: User
) -> None:
    dossier, recto_id, kbis_id = _dossier(
        make_person(PersonRole.HOLDER, first_name="CLAIRE", last_name="PERRIN")
    )
    login(client, olivia)
    response = client.post(f"/validation/dossiers/{dossier.id}/prendre", follow_redirects=True)
    assert "Dossier pris en charge" in response.get_data(as_text=True)
    assert as_(client).get(f"/documents/{recto_id}").status_code == 200
    assert as_(client).get(f"/documents/{kbis_id}/pages/1.png").status_code == 200
    assert _events("review.conflict_of_interest") == []
    assert _events("document.conflict_of_interest") == []


def test_olivia_as_mandataire_under_a_hyphenated_name_is_refused_the_documents_too(
    client: FlaskClient, olivia: User
) -> None:
    dossier = make_dossier(
        db.session,
        people=[
            make_person(PersonRole.HOLDER),
            make_person(PersonRole.LEGAL_REPRESENTATIVE),
            make_person(
                PersonRole.MANDATAIRE,
                first_name="OLIVIA",
                last_name="DUPONT-PERRIN",
                email="mandat@cabinet.fr",
            ),
        ],
    )
    recto = make_document(db.session, dossier, side="recto")
    db.session.commit()
    login(client, olivia)
    response = client.get(f"/documents/{recto.id}")
    assert response.status_code == 403
    assert "vous êtes mandataire de certification de ce dossier" in response.get_data(as_text=True)
