"""The pickup desk in a real browser (issue 14): the operator books a slot for the holder,
moves it, sees the appointment's history, then at the desk types the number of the card the
holder shows: another number is refused in French, the verified one hands the token over."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from ra_workbench.certificates.models import Certificate
from ra_workbench.delivery import service
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.issuance.service import issue_certificate
from ra_workbench.notify.models import OutboxMessage
from tests.browser.test_review_screens import sign_in
from tests.factories import make_approved_dossier, make_slot, make_slot_today, make_user

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]


def _slot_label(slot: object) -> str:
    starts = service.local_time(slot.starts_at)  # type: ignore[attr-defined]
    return f"{starts:%d/%m/%Y %H:%M}"


def test_operator_books_moves_and_hands_over_to_the_holder_on_the_day(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    dossier = make_approved_dossier(db.session, delivery_mode="pickup")
    issue_certificate(db.session, dossier.id)
    operator = make_user(db.session, first_name="Gaëlle", last_name="Martin")
    certificate = db.session.scalar(
        sa.select(Certificate).where(Certificate.dossier_id == dossier.id)
    )
    assert certificate is not None
    assert certificate.token_serial  # read from the token issuance prepared
    later = make_slot(db.session, starts_in=dt.timedelta(days=3), capacity=2)
    today = make_slot_today(db.session, capacity=2)
    dossier_id, later_label, today_label = dossier.id, _slot_label(later), _slot_label(today)
    db.session.commit()

    sign_in(page, live_server, operator)
    page.goto(f"{live_server}/remise/retraits/{dossier_id}")
    # Booked for later in the week, as agreed on the phone.
    page.select_option("#slot_id", label=_option(page, "#slot_id", later_label))
    page.click("text=Réserver ce créneau")
    expect(page.locator(".flash-success")).to_contain_text("Rendez-vous fixé")
    # The holder calls back: today suits better.
    moves = page.locator("#move-slot_id option").all_inner_texts()
    assert not [m for m in moves if m.strip().startswith(later_label)]  # not where it is
    page.select_option("#move-slot_id", label=_option(page, "#move-slot_id", today_label))
    page.click("text=Déplacer le rendez-vous")
    expect(page.locator(".flash-success")).to_contain_text("Rendez-vous déplacé")
    history = page.locator("[data-appointment-history] tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("Rendez-vous fixé")
    expect(history.nth(0)).to_contain_text(later_label)
    expect(history.nth(1)).to_contain_text("Rendez-vous déplacé")
    expect(history.nth(1)).to_contain_text(today_label)
    shot(page, "pickup-01-rendez-vous-deplace")

    # At the desk: the photo and MRZ of the verified card are on the page today.
    expect(page.locator("[data-verified-identity]")).to_contain_text("X4RTBPFW4")
    page.fill("#identity_document_number", "Y9ZZ11223")
    page.click("text=Enregistrer la remise")
    expect(page.locator(".flash-danger")).to_contain_text("ne correspond pas")
    shot(page, "pickup-02-piece-refusee")
    page.fill("#identity_document_number", "x4rt bpfw4")
    page.click("text=Enregistrer la remise")
    expect(page.locator(".flash-success")).to_contain_text("Remise enregistrée")
    shot(page, "pickup-03-remise-enregistree")

    db.session.expire_all()
    refreshed = db.session.get(type(dossier), dossier_id)
    assert refreshed is not None
    assert refreshed.status == DossierStatus.DELIVERED.value
    templates = db.session.scalars(
        sa.select(OutboxMessage.template)
        .where(OutboxMessage.dossier_id == dossier_id)
        .order_by(OutboxMessage.id)
    ).all()
    assert "appointment_confirmation" in templates
    assert "appointment_update" in templates
    assert "activation_code" in templates


def _option(page: Page, select: str, starts: str) -> str:
    """The full label of the option whose slot starts at `starts` (« 03/12/2026 10:30 »)."""
    labels = page.locator(f"{select} option").all_inner_texts()
    [label] = [text for text in labels if text.strip().startswith(starts)]
    return label.strip()
