"""The customer corrects the order and the operator sees it (issue 14): a re-export with a
corrected mobile and a corrected surname reaches the queue as « nouvelle version », the
dossier page lists what the customer changed, the checks pass on the corrected data, the
dossier can be approved, and the portal no longer asks for the correction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from ra_workbench.checks.service import evaluate_dossier
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.ingest.package import read_package_path
from ra_workbench.ingest.service import ingest, ingest_signature, package_limits
from ra_workbench.synth.packages import generate_dossier
from tests.browser.test_review_screens import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser

ORDER = "400401"
LANDLINE = "0140000000"
Shot = Callable[[Page, str], Path]


def _export(tmp_path: Path, revision: int, today: dt.date, **changes: dict[str, str]) -> Path:
    path = generate_dossier(
        tmp_path / f"r{revision}",
        seed=8,
        order_number=ORDER,
        today=today,
        revision=revision,
        # Paid by card, no mandataire, a holder of their own: nothing left for a human but
        # what the test is about.
        variant={
            "payment_method": "card",
            "has_mandataire": False,
            "holder_is_legal_representative": False,
        },
    )
    manifest = path / "dossier.json"
    data = json.loads(manifest.read_text("utf-8"))
    for party, fields in changes.items():
        data[party].update(fields)
    manifest.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


def _ingest(path: Path) -> str:
    outcome = ingest(lambda: read_package_path(path, package_limits()), name="p", source="test")
    return outcome.outcome


def _sign_everyone(roles: list[str], today: dt.date) -> None:
    for minutes, role in enumerate(roles):
        event = {
            "format": "portail-signature/1",
            "order_number": ORDER,
            "signer": role,
            "status": "signed",
            "identity_verification": "self_id_passed",
            "evidence_id": f"GS-{role[:4]}-{minutes}",
            "at": f"{today.isoformat()}T08:0{minutes}:00+01:00",
        }
        assert ingest_signature(json.dumps(event).encode(), source="test").outcome == "recorded"


def _dossier() -> Dossier:
    db.session.expire_all()
    return (
        db.session.scalars(sa.select(Dossier).where(Dossier.order_number == ORDER)).unique().one()
    )


def _asked(client_get: Callable[[str], dict[str, object]]) -> str:
    return " ".join(str(item) for item in client_get(ORDER)["to_provide"])  # type: ignore[union-attr]


def test_the_operator_sees_the_customers_corrections_and_approves(
    app: Flask, live_server: str, page: Page, shot: Shot, tmp_path: Path
) -> None:
    from ra_workbench.portal.status import order_status

    today = dt.datetime.now(dt.UTC).date()
    reference = json.loads(
        (_export(tmp_path / "ref", 1, today) / "dossier.json").read_text("utf-8")
    )
    surname = reference["holder"]["last_name"]
    mobile = reference["legal_representative"]["mobile"]
    typo = surname[:-1] + ("X" if surname[-1] != "X" else "Y")
    first = _export(
        tmp_path, 1, today, holder={"last_name": typo}, legal_representative={"mobile": LANDLINE}
    )
    assert _ingest(first) == "created"
    dossier = _dossier()
    _sign_everyone([p.role for p in dossier.people if p.role != "mandataire"], today)
    run = evaluate_dossier(db.session, dossier.id, trigger="test")
    db.session.commit()
    assert {r.rule for r in run.results if r.outcome == "fail"} >= {
        "contact.mobile",
        "identity.name_match",
    }
    assert "mobile" in _asked(order_status)  # type: ignore[arg-type]

    assert _ingest(_export(tmp_path, 2, today)) == "revised"
    dossier = _dossier()
    run = evaluate_dossier(db.session, dossier.id, trigger="test")
    db.session.commit()
    failing = sorted({r.rule for r in run.results if r.outcome in ("fail", "manual", "pending")})
    assert failing == [], [(r.rule, r.message) for r in run.results if r.rule in failing]
    assert "mobile" not in _asked(order_status)  # type: ignore[arg-type]

    operator = make_user(db.session, first_name="Olivia", last_name="Perrin")
    db.session.commit()
    sign_in(page, live_server, operator)
    row = page.locator(f"tr[data-order='{ORDER}']")
    expect(row.locator(".new-version")).to_have_text("nouvelle version")
    shot(page, "revision-01-file-nouvelle-version")
    row.locator("a").first.click()
    page.click("#claim-button")
    changes = page.locator("#revisions li.declared-change")
    expect(changes).to_have_count(2)
    expect(page.locator("#revisions")).to_contain_text(f"nom du porteur « {typo} » → « {surname} »")
    expect(page.locator("#revisions")).to_contain_text(
        f"mobile du représentant légal « {LANDLINE} » → « {mobile} »"
    )
    # Also at the top of the page, before the decision: what changed in the last version.
    expect(page.locator("#latest-changes li")).to_have_count(2)
    expect(page.locator("#latest-changes")).to_contain_text("Nouvelle version 2")
    shot(page, "revision-02-modifications-du-client")
    page.fill("#approve-comment", "Corrections du client vérifiées.")
    page.click("#approve-button")
    expect(page.locator(".flash-success")).to_contain_text("Dossier validé")
