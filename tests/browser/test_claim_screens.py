"""Claims in a real browser at 1366×768: the operator takes and opens a dossier from the
queue in one click; the supervisor sees who holds what and hands a claim to a colleague."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from ra_workbench.db import utcnow
from ra_workbench.dossiers.models import Dossier, Organisation
from ra_workbench.extensions import db
from tests.browser.test_review_screens import sign_in
from tests.factories import ADDRESS, make_check_run, make_dossier, make_user

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]


def _page_width(page: Page) -> tuple[int, int]:
    scroll, window = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    return scroll, window


def _ready(organisation: str = "ATELIERS MOREL") -> int:
    dossier = make_dossier(
        db.session,
        organisation=Organisation(
            siren="732829320", name=organisation, legal_form="SAS", address=dict(ADDRESS)
        ),
    )
    make_check_run(db.session, dossier)
    return dossier.id


def test_operator_takes_and_opens_a_dossier_from_the_queue_in_one_click(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    operator = make_user(db.session, first_name="Olivia", last_name="Perrin")
    first = _ready("SOCIETE COOPERATIVE DES ARTISANS BOULANGERS DU GRAND EST")
    _ready()
    db.session.commit()

    sign_in(page, live_server, operator)
    expect(page.locator("td.claim-and-open button").first).to_be_visible()
    scroll, window = _page_width(page)
    assert scroll <= window, f"queue {scroll} px wide at {window} px"
    shot(page, "queue-claim-and-open")

    page.locator("td.claim-and-open button").first.click()

    expect(page).to_have_url(re.compile(rf"/validation/dossiers/{first}$"))
    expect(page.locator(".flash-success")).to_contain_text("Dossier pris en charge pour")


def test_supervisor_hands_a_claim_to_a_colleague(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    olivia = make_user(db.session, first_name="Olivia", last_name="Perrin")
    make_user(db.session, first_name="Hugo", last_name="Martin")
    supervisor = make_user(db.session, role="supervisor", first_name="Sophie", last_name="Lemaire")
    dossier_id = _ready()
    dossier = db.session.get(Dossier, dossier_id)
    assert dossier is not None
    dossier.claimed_by_id = olivia.id
    dossier.claimed_at = utcnow() - dt.timedelta(minutes=7)
    db.session.commit()

    sign_in(page, live_server, supervisor)
    page.goto(f"{live_server}/supervision/prises-en-charge")
    row = page.locator("table.claims tbody tr").first
    expect(row.locator("td.holder")).to_have_text("Olivia Perrin")
    scroll, window = _page_width(page)
    assert scroll <= window, f"claims page {scroll} px wide at {window} px"
    shot(page, "supervision-claims")

    row.get_by_label("Réassigner à").select_option(label="Hugo Martin")
    row.get_by_role("button", name=re.compile("^Réassigner")).click()

    expect(page.locator(".flash-success")).to_contain_text("Dossier réassigné à Hugo Martin")
    expect(page.locator("table.claims tbody tr").first.locator("td.holder")).to_have_text(
        "Hugo Martin"
    )
    shot(page, "supervision-claims-reassigned")
