"""The workbench on the laptop back-offices issue (1366×768), as an operator, a supervisor
and an administrator (issue 15, points 5 and 6): every page of the menu and the detail pages
behind it fit the screen's width (no horizontal scrolling), the menu stays on one line, and
axe-core finds nothing serious or critical.

axe-core comes inside axe-playwright-python (no CDN); Playwright's `evaluate` injects it
through the DevTools protocol, which the page's CSP (`script-src 'self'`) does not govern:
the test also fails if the browser reports a CSP violation while axe-core runs."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page, expect

from ra_workbench.certificates.models import Certificate
from ra_workbench.db import utcnow
from ra_workbench.delivery import service as delivery
from ra_workbench.delivery.models import Shipment
from ra_workbench.documents.access import break_glass
from ra_workbench.dossiers.models import Organisation, PersonRole
from ra_workbench.extensions import db
from ra_workbench.issuance.service import issue_certificate
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.review.claims import claim
from ra_workbench.review.decisions import request_override
from ra_workbench.supervision.quality import sample_approvals
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_review_screens import _dossier_with_documents, sign_in
from tests.factories import (
    ADDRESS,
    make_approved_dossier,
    make_check_run,
    make_dossier,
    make_person,
    make_slot,
    make_user,
    pdf_bytes,
)

pytestmark = pytest.mark.browser

Shot = Callable[[Page, str], Path]
AXE = Axe()
BLOCKING_IMPACTS = {"serious", "critical"}
# RA_CRAWL_SCREENSHOTS=1 keeps a screenshot of every page visited (for a visual review).
EVERY_SCREEN = os.environ.get("RA_CRAWL_SCREENSHOTS") == "1"


@dataclass(frozen=True)
class Workbench:
    """The ids of a small but realistic day's data."""

    waiting_dossier: int
    failing_dossier: int
    shipped_dossier: int
    pickup_dossier: int
    shipped_certificate: int
    message: int
    kbis: int


def _realistic_day() -> Workbench:
    """A dossier ready for review, one failing its Kbis and its mandate (documents with
    their MRZ read), one approved and shipped (certificate, shipment, messages), one
    approved for pickup with its appointment booked, an override to second, a break-glass
    access and a quality review sample."""
    # Long names and addresses, as real customers have them.
    waiting = make_dossier(
        db.session,
        organisation=Organisation(
            siren="552081317",
            name="SOCIETE D'EXPLOITATION DES ETABLISSEMENTS HOSPITALIERS ET MEDICO-SOCIAUX "
            "DU GRAND-EST ET DE LA BOURGOGNE-FRANCHE-COMTE",
            legal_form="SASU",
            address=dict(ADDRESS),
        ),
        people=[
            make_person(
                PersonRole.HOLDER,
                first_name="MARIE-CHRISTINE EVANGELINE",
                last_name="DE LA ROCHEFOUCAULD-MONTMORENCY",
                email="marie-christine.de-la-rochefoucauld-montmorency@etablissements-hospitaliers.fr",
            ),
            make_person(PersonRole.LEGAL_REPRESENTATIVE),
        ],
    )
    make_check_run(db.session, waiting)
    failing = _dossier_with_documents(
        ("kbis.age", "fail"), ("mandate.valid", "manual"), kbis_data=pdf_bytes(2)
    )
    kbis = next(d for d in failing.documents if d.type == "kbis")

    shipped = make_approved_dossier(db.session)
    issue_certificate(db.session, shipped.id)
    pickup = make_approved_dossier(db.session, delivery_mode="pickup")
    issue_certificate(db.session, pickup.id)
    operator = make_user(db.session)
    slot = make_slot(db.session, starts_in=dt.timedelta(days=3), capacity=4)
    delivery.book_slot(db.session, pickup.id, slot.id, actor=operator)
    # What the supervisor pages list: an override awaiting its second approval, a break-glass
    # access to identity copies, approvals drawn for the quality review.
    overridden = make_dossier(db.session)
    run = make_check_run(db.session, overridden, [("kbis.age", "fail")])
    claim(db.session, overridden.id, operator, claim_minutes=60)
    request_override(
        db.session,
        overridden.id,
        operator,
        check_run_id=run.id,
        justification="Kbis de 3 mois et 2 jours, société connue, renouvellement du certificat",
        claim_minutes=60,
    )
    break_glass(
        db.session,
        failing,
        make_user(db.session),
        "Le porteur appelle : il conteste la lecture de sa pièce d'identité",
        minutes=15,
    )
    sample_approvals(db.session, key="crawl", rate=1.0, since=utcnow() - dt.timedelta(days=1))
    shipment = db.session.scalar(sa.select(Shipment).where(Shipment.dossier_id == shipped.id))
    assert shipment is not None
    message = db.session.scalars(
        sa.select(OutboxMessage.id).where(OutboxMessage.dossier_id == shipped.id)
    ).first()
    assert message is not None
    return Workbench(
        waiting_dossier=waiting.id,
        failing_dossier=failing.id,
        shipped_dossier=shipped.id,
        pickup_dossier=pickup.id,
        shipped_certificate=_certificate(shipped.id).id,
        message=message,
        kbis=kbis.id,
    )


def _certificate(dossier_id: int) -> Certificate:
    certificate = db.session.scalar(
        sa.select(Certificate).where(Certificate.dossier_id == dossier_id)
    )
    assert certificate is not None
    return certificate


def _detail_pages(day: Workbench, role: str) -> list[str]:
    pages = [
        f"/validation/dossiers/{day.failing_dossier}",
        f"/validation/dossiers/{day.waiting_dossier}",
        f"/validation/dossiers/{day.shipped_dossier}",
        f"/documents/{day.kbis}",  # « Ouvrir » on a PDF: its preview page
        f"/emission/certificats/{day.shipped_certificate}",
        "/remise/envois",
        "/remise/retraits",
        f"/remise/retraits/{day.pickup_dossier}",
        "/remise/creneaux",
        "/messages/",
        f"/messages/{day.message}",
        "/compte/securite",
    ]
    if role in {"supervisor", "admin"}:
        pages += [
            "/supervision/",
            "/supervision/taches",
            "/supervision/revue-qualite",
            "/supervision/derogations",
            "/supervision/bris-de-glace",
            "/audit/",
        ]
    if role == "admin":
        pages += [
            "/remise/creneaux/serie",
            "/admin/",
            "/admin/sessions",
            *(
                f"/admin/{view}/{suffix}"
                for view in ("admin_users", "admin_offers", "admin_slots")
                for suffix in ("", "new/")
            ),
        ]
    return pages


def _menu_links(page: Page, base: str) -> list[str]:
    """Every page the top bar links to (folded sub-menus included), on this server."""
    hrefs = page.eval_on_selector_all(".topbar a[href]", "links => links.map(a => a.href)")
    paths = []
    for href in hrefs:
        url = urlsplit(href)
        if f"{url.scheme}://{url.netloc}" == base:
            paths.append(url.path + (f"?{url.query}" if url.query else ""))
    return paths


def _horizontal_overflow(page: Page) -> str | None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] <= width[1]:
        return None
    # Name the widest culprits: elements whose right edge passes the window's.
    culprits = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 5)
            .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                 + (e.className && typeof e.className === 'string'
                    ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
                 + ' → ' + Math.round(e.getBoundingClientRect().right) + ' px')"""
    )
    return f"page large de {width[0]} px pour {width[1]} px : {', '.join(culprits)}"


def _menu_on_two_lines(page: Page) -> str | None:
    """The top bar is one row (brand, menu, search, account side by side) and no entry of
    the menu wraps its words onto a second line."""
    if page.locator(".topbar").count() == 0:
        return None  # Flask-Admin's pages carry their own Bootstrap navigation bar
    found = page.evaluate(
        """() => {
            const visible = e => e.getClientRects().length > 0;
            const row = [...document.querySelectorAll('.topbar > *')].filter(visible)
                .map(e => e.getBoundingClientRect());
            const oneRow = Math.max(...row.map(r => r.top)) < Math.min(...row.map(r => r.bottom));
            const lines = e => { const range = document.createRange(); range.selectNodeContents(e);
                return new Set([...range.getClientRects()].filter(r => r.width > 0)
                                .map(r => Math.round(r.top))).size; };
            const wrapped = [...document.querySelectorAll(
                    '.topbar nav.menu > a, .topbar nav.menu summary, .topbar .brand')]
                .filter(visible).filter(e => lines(e) > 1).map(e => e.textContent.trim());
            return {oneRow, wrapped, height: document.querySelector('.topbar').offsetHeight};
        }"""
    )
    if found["oneRow"] and not found["wrapped"]:
        return None
    return f"menu sur plusieurs lignes ({found['height']} px de haut)" + (
        f" : {', '.join(found['wrapped'])}" if found["wrapped"] else ""
    )


# Flask-Admin's list template (vendor markup, bootstrap4/admin/model/list.html) titles its
# row-selection checkboxes without a label (axe: label-title-only); everything else on the
# administration's pages is checked, with our corrections (web/static/admin.css, lang="fr").
FLASK_ADMIN_VENDOR_MARKUP = [[".action-checkbox"], [".action-rowtoggle"]]


def _serious_findings(page: Page) -> list[str]:
    vendor = urlsplit(page.url).path.startswith("/admin/admin_")
    context = {"exclude": FLASK_ADMIN_VENDOR_MARKUP} if vendor else None
    results = AXE.run(page, context=context).response
    assert results["testEngine"]["name"] == "axe-core"
    return [
        f"{v['id']} ({v['impact']}) : {' | '.join(str(n['target']) for n in v['nodes'][:6])}"
        for v in results["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]


def _walk(page: Page, base: str, paths: list[str], *, status: int = 200) -> dict[str, list[str]]:
    csp_reports: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            csp_reports.append(message.text)

    page.on("console", on_console)
    problems: dict[str, list[str]] = {}
    for path in paths:
        response = page.goto(f"{base}{path}")
        assert response is not None
        found = [] if response.status == status else [f"HTTP {response.status}"]
        found += [p for p in (_horizontal_overflow(page), _menu_on_two_lines(page)) if p]
        csp_reports.clear()  # what the page itself does is the CSP tests' business
        found += _serious_findings(page)
        found += [f"CSP pendant axe-core : {report}" for report in csp_reports]
        if found:
            problems[path] = found
        if EVERY_SCREEN:
            name = "crawl" + re.sub(r"[^a-z0-9]+", "-", urlsplit(page.url).path.lower())
            page.screenshot(path=str(SCREENSHOTS / f"{name.rstrip('-')}.png"), full_page=True)
    return problems


def _report(problems: dict[str, list[str]]) -> str:
    return "\n".join(f"{path}\n  " + "\n  ".join(found) for path, found in sorted(problems.items()))


@pytest.mark.parametrize("role", ["operator", "supervisor", "admin"])
def test_every_page_fits_the_laptop_and_axe_finds_nothing_serious(
    app: Flask, live_server: str, page: Page, shot: Shot, role: str
) -> None:
    day = _realistic_day()
    user = make_user(db.session, role=role, first_name="Marie-Christine", last_name="Delacroix")
    db.session.commit()

    sign_in(page, live_server, user)
    paths = list(dict.fromkeys([*_menu_links(page, live_server), *_detail_pages(day, role)]))
    problems = _walk(page, live_server, paths)
    # A page that does not exist: the error page fits and reads as well.
    problems |= _walk(page, live_server, ["/validation/dossiers/999999"], status=404)
    if role == "operator":  # and one they may not see
        problems |= _walk(page, live_server, ["/supervision/"], status=403)

    if role == "operator":
        page.goto(f"{live_server}/validation/")
        shot(page, "ecran-file")
        page.goto(f"{live_server}/validation/dossiers/{day.failing_dossier}")
        shot(page, "ecran-dossier")
    if role == "supervisor":
        page.goto(f"{live_server}/supervision/")
        shot(page, "ecran-tableau-de-bord")
    assert not problems, f"{len(problems)} page(s) à revoir en 1366×768 :\n{_report(problems)}"


def _checked_here(page: Page) -> list[str]:
    found = [p for p in (_horizontal_overflow(page), _menu_on_two_lines(page)) if p]
    return found + _serious_findings(page)


def test_the_sign_in_pages_fit_and_axe_finds_nothing_serious(
    app: Flask, live_server: str, page: Page
) -> None:
    """The sign-in, the second step and the first enrolment of a second factor."""
    enrolled = make_user(db.session)
    newcomer = make_user(db.session, totp=False)
    db.session.commit()
    problems = _walk(page, live_server, ["/connexion"])
    for user, step in ((enrolled, "Vérification en deux étapes"), (newcomer, "")):
        page.context.clear_cookies()
        page.goto(f"{live_server}/connexion")
        page.fill("#email", user.email)
        page.fill("#password", "correct-horse-battery")
        page.click("button[type=submit]")
        if step:
            expect(page.locator("h1")).to_have_text(step)
        else:
            expect(page).to_have_url(re.compile(r"/connexion/activation"))
        found = _checked_here(page)
        if found:
            problems[urlsplit(page.url).path] = found
    assert not problems, _report(problems)


def test_axe_reports_a_missing_label_and_an_overflowing_page(
    app: Flask, live_server: str, page: Page
) -> None:
    """The checks above can fail: an unlabelled field, a too-wide block and a menu entry
    that wraps are caught."""
    page.goto(f"{live_server}/connexion")
    page.evaluate(
        """() => {
            document.querySelector('label[for=email]')?.remove();
            document.querySelector('#email').removeAttribute('aria-label');
            const wide = document.createElement('div');
            wide.style.width = '1700px'; wide.textContent = 'large';
            document.body.appendChild(wide);
            const menu = document.createElement('nav');
            menu.className = 'menu'; menu.style.maxWidth = '6rem';
            menu.innerHTML = '<a href="#" style="white-space: normal">Journal d’audit</a>';
            document.querySelector('.topbar').appendChild(menu);
        }"""
    )
    findings = _serious_findings(page)
    assert any(f.startswith("label ") for f in findings), findings
    overflow = _horizontal_overflow(page)
    assert overflow is not None
    assert "1366" in overflow
    wrapped = _menu_on_two_lines(page)
    assert wrapped is not None
    assert "Journal d’audit" in wrapped


def test_the_supervision_menu_opens_and_closes_with_the_keyboard(
    app: Flask, live_server: str, page: Page, shot: Shot
) -> None:
    admin = make_user(db.session, role="admin", first_name="Hélène", last_name="Vasseur")
    db.session.commit()
    sign_in(page, live_server, admin)

    menu = page.locator(".topbar details.submenu")
    entries = menu.locator("ul a")
    expect(entries.first).to_be_hidden()  # folded: the top bar stays on one line
    menu.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(entries.first).to_be_visible()
    assert {
        "Tableau de bord",
        "Dérogations",
        "Revue qualité",
        "Bris de glace",
        "Tâches",
        "Journal d'audit",
    } <= {text.strip() for text in entries.all_inner_texts()}
    shot(page, "ecran-menu-supervision")
    page.keyboard.press("Escape")  # closes, the focus back on « Supervision »
    expect(entries.first).to_be_hidden()
    expect(menu.locator("summary")).to_be_focused()
    outline = menu.locator("summary").evaluate(
        "e => [getComputedStyle(e).outlineStyle, parseFloat(getComputedStyle(e).outlineWidth)]"
    )
    # Where the keyboard is shows: a solid outline of at least 2 px.
    assert outline[0] == "solid", outline
    assert outline[1] >= 2, outline
    # Opened again, tabbed through to « Administration »: it folds behind the keyboard.
    page.keyboard.press("Space")
    for _ in range(entries.count()):
        page.keyboard.press("Tab")
    expect(entries.last).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator(".topbar nav.menu > a", has_text="Administration")).to_be_focused()
    expect(entries.first).to_be_hidden()
    # And once more, down to the dashboard.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(entries.first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Tableau de bord")
    expect(page.locator(".topbar details.submenu summary.current")).to_have_text("Supervision")
