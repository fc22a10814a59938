"""An operator works through the queue with the keyboard only (issue 15, point 3): « S »
claims and opens the oldest ready dossier, « V » puts the cursor on « Valider et dossier
suivant », « Entrée » approves it and opens the next one, claimed. Ten clean dossiers in a
row; the number of keystrokes and the time per dossier are written to
test-artifacts/keyboard-flow.json (the README quotes them)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from tests.browser.test_review_screens import _dossier_with_documents, sign_in
from tests.factories import make_check_run, make_dossier, make_user

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "keyboard-flow.json"
SCREENS = ARTIFACT.parent / "screenshots"


def _clean_dossier() -> Dossier:
    dossier = make_dossier(db.session)
    make_check_run(db.session, dossier)  # every check passes: ready for approval
    return dossier


def test_operator_approves_ten_clean_dossiers_in_a_row_with_the_keyboard_only(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    operator = make_user(db.session, first_name="Olivia", last_name="Perrin")
    orders = [_clean_dossier().order_number for _ in range(10)]
    db.session.commit()
    sign_in(page, live_server, operator)

    keystrokes = 0

    def press(key: str) -> None:
        nonlocal keystrokes
        page.keyboard.press(key)
        keystrokes += 1

    expect(page.locator("html")).to_have_attribute("data-shortcuts", "ready")
    started = time.perf_counter()
    press("s")  # « Traiter le dossier suivant »
    seen: list[str] = []
    for n in range(10):
        expect(page.locator("h1")).to_contain_text("Dossier n°")
        expect(page.locator(".claimed-by")).to_have_text("Olivia Perrin")
        seen.append(page.locator("h1").inner_text().split("n°")[1].split()[0])
        expect(page.locator("html")).to_have_attribute("data-shortcuts", "ready")
        if n == 0:
            shot(page, "ecran-dossier-clavier")
        press("v")
        expect(page.locator("#approve-next-button")).to_be_focused()
        press("Enter")
    expect(page.locator("h1")).to_have_text("File de validation")
    expect(page.locator(".flash-success").last).to_contain_text("Aucun autre dossier")
    elapsed = time.perf_counter() - started

    assert sorted(seen) == sorted(orders)  # each once, none skipped
    db.session.expire_all()
    statuses = db.session.scalars(
        sa.select(Dossier.status).where(Dossier.order_number.in_(orders))
    ).all()
    assert set(statuses) <= {"approved", "certificate_issued"}
    assert len(statuses) == 10
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(
        json.dumps(
            {
                "dossiers": 10,
                "keystrokes": keystrokes,
                "keystrokes_per_dossier": keystrokes / 10,
                "seconds": round(elapsed, 2),
                "seconds_per_dossier": round(elapsed / 10, 2),
            },
            indent=2,
        ),
        encoding="utf-8",
    )


def test_the_cheat_sheet_opens_with_the_question_mark(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    operator = make_user(db.session)
    dossier = _dossier_with_documents()
    db.session.commit()
    sign_in(page, live_server, operator)
    page.goto(f"{live_server}/validation/dossiers/{dossier.id}")
    expect(page.locator("html")).to_have_attribute("data-shortcuts", "ready")
    page.keyboard.press("?")
    sheet = page.locator("dialog#shortcuts")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("Valider et dossier suivant")
    shot(page, "dossier-raccourcis")
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    page.keyboard.press("c")
    expect(page.locator(".flash-success")).to_contain_text("Dossier pris en charge")
    # What the operator sees on a 1366×768 laptop: documents left, data right, decisions
    # at the bottom of the screen, without scrolling.
    expect(page.locator("html")).to_have_attribute("data-shortcuts", "ready")
    bar = page.locator("#decision")
    expect(bar).to_be_in_viewport()
    expect(page.locator(".case-docs figure.doc").first).to_be_in_viewport()
    expect(page.locator("#person-holder-data table.compare")).to_be_in_viewport()
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "ecran-dossier-1366x768.png"))
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator("a[data-doc-link].current")).to_have_count(1)
