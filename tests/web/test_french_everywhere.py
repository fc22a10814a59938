"""Every page the workbench serves is French, as an operator, a supervisor and an admin read it.

The crawl signs in as each role over a small but realistic set of dossiers (one to decide with
failing and manual checks and their evidence, one refused, one shipped with its certificate,
one to be handed over with its appointment), GETs every route of the URL map whose arguments
the set can fill, and reads the visible text of each HTML page (« Détails techniques » blocks,
scripts and attributes left out, since support reads those). It fails on:
- the libraries' English defaults (Werkzeug's error pages, WTForms' messages, Flask-Admin's
  buttons);
- a rule id or an audit event type printed instead of its French label;
- an ISO date or time (« 2026-12-01T21:12 », « 2026-12-01 21:12 ») instead of « 01/12/2026 ».
The error pages (404, 403, 405, 413, 500, and JSON under /api) are French too; a refused form
keeps what was typed, in WTForms' French.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import BadRequest, InternalServerError

from ra_workbench.accounts.models import User
from ra_workbench.certificates.models import Certificate
from ra_workbench.checks.models import CheckRun
from ra_workbench.checks.results import RULE_IDS
from ra_workbench.clock import local_time
from ra_workbench.delivery import service as delivery
from ra_workbench.delivery.models import Appointment, Shipment
from ra_workbench.documents.models import Document
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.issuance.service import issue_certificate
from ra_workbench.labels import load_labels
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.review.claims import claim
from ra_workbench.web.errors import error_response
from tests.auth import sign_in
from tests.factories import (
    make_approved_dossier,
    make_check_run,
    make_document,
    make_dossier,
    make_slot,
    make_user,
)

REPO = Path(__file__).resolve().parents[2]
LABELS = load_labels(REPO / "rules")

# What the libraries say when nobody translated them.
ENGLISH = (
    # Werkzeug
    "Not Found",
    "The requested URL",
    "Bad Request",
    "Forbidden",
    "Method Not Allowed",
    "Internal Server Error",
    "Request Entity Too Large",
    "You don't have the permission",
    "The browser (or proxy) sent",
    "Redirecting...",
    # WTForms
    "This field is required",
    "Not a valid",
    "Field must be",
    "Invalid choice",
    "Invalid email",
    "CSRF token",
    # Flask-Admin
    "Save",
    "Cancel",
    "List",
    "Create",
    "Edit",
    "Delete",
    "Failed to",
    "Are you sure",
    "Add another",
    "Record was",
    "Filter",
    "Search",
    "Details",
    "Export",
    "Home",
    "Previous",
    "Next",
    "Submit",
)
ENGLISH_PATTERN = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(w) for w in ENGLISH) + r")(?![\w-])"
)
RAW_IDS = sorted({*RULE_IDS, *LABELS.events}, key=len, reverse=True)
RAW_ID_PATTERN = re.compile(r"(?<![\w.])(" + "|".join(re.escape(i) for i in RAW_IDS) + r")(?![\w])")
ISO_MOMENT = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?\b")

# Answers that are not pages: files, exports, JSON, the static tree.
NOT_PAGES = (".pem", ".png", ".pdf", ".ics", ".zip", ".csv", "/static/", "/export/", "/ajax/")
NOT_PAGE_ENDPOINTS = {"documents.view", "review.queue_api", "api.dossier_status"}
SIGN_IN_ENDPOINTS = {"auth.login", "auth.enrol", "auth.second_factor"}


class VisibleText(HTMLParser):
    """The text a person reads: without scripts, styles, attributes, and the « Détails
    techniques » blocks (`<details class="technical">`)."""

    SKIPPED = {"script", "style", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[tuple[str, bool]] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"br", "img", "input", "meta", "link", "hr", "col", "source", "wbr"}:
            return
        named = dict(attrs)
        classes = (named.get("class") or "").split()
        style = (named.get("style") or "").replace(" ", "")
        hides = (
            tag in self.SKIPPED
            or (tag == "details" and "technical" in classes)
            or "hidden" in named
            or "display:none" in style
        )
        self._stack.append((tag, hides))
        self._hidden += hides

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            name, hides = self._stack.pop()
            self._hidden -= hides
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)

    @classmethod
    def of(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        return re.sub(r"\s+", " ", " ".join(parser.parts))


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)

    def read(self, where: str, html: str) -> None:
        text = VisibleText.of(html)
        for pattern, what in (
            (ENGLISH_PATTERN, "English"),
            (RAW_ID_PATTERN, "raw id"),
            (ISO_MOMENT, "ISO date"),
        ):
            for match in pattern.finditer(text):
                around = text[max(0, match.start() - 50) : match.end() + 50]
                self.problems.append(f"{where}: {what} « {match.group(0)} » in …{around}…")


@dataclass(frozen=True)
class DataSet:
    to_decide: Dossier
    refused: Dossier
    shipped: Dossier
    pickup: Dossier
    certificate: Certificate
    shipment: Shipment
    appointment: Appointment
    document: Document
    message: OutboxMessage | None


def _failing_run(dossier: Dossier) -> CheckRun:
    kbis = make_document(db.session, dossier, type="kbis", person_role=None, side=None)
    identity = make_document(db.session, dossier)
    run = make_check_run(
        db.session,
        dossier,
        [
            {
                "rule": "kbis.age",
                "outcome": "fail",
                "message": "Extrait Kbis du 01/07/2026 : plus de 3 mois au 01/12/2026.",
                "document_id": kbis.id,
                "evidence": {
                    "document_id": kbis.id,
                    "file": kbis.original_name,
                    "extracted": "2026-07-01",
                    "evaluation_date": "2026-12-01",
                    "max_age_months": 3,
                },
            },
            {
                "rule": "identity.document_type",
                "outcome": "fail",
                "message": "Porteur : un visa n'est pas une pièce d'identité acceptée.",
                "person_role": "holder",
                "document_id": identity.id,
                "evidence": {
                    "document_id": identity.id,
                    "person": "holder",
                    "extracted": {"type": "visa", "document_code": "VC", "trusted_issuer": True},
                },
            },
            {
                "rule": "identity.mrz",
                "outcome": "manual",
                "message": "Porteur : bande MRZ partiellement lue, à vérifier sur l'image.",
                "person_role": "holder",
                "evidence": {"person": "holder", "signed_at": "2026-11-21T09:02:11+01:00"},
            },
        ],
    )
    run.trigger = "ingest"
    for result in run.results:
        if result.outcome == "pass":
            result.message = "Contrôle conforme."
    return run


@pytest.fixture
def data(app: Flask) -> DataSet:
    to_decide = make_dossier(db.session)
    _failing_run(to_decide)
    refused = make_dossier(db.session, status=DossierStatus.REJECTED.value)
    refused_run = make_check_run(
        db.session,
        refused,
        [{"rule": "payment.settled", "outcome": "fail", "message": "Paiement non reçu."}],
    )
    for result in refused_run.results:
        if result.outcome == "pass":
            result.message = "Contrôle conforme."
    shipped = make_approved_dossier(db.session)
    issue_certificate(db.session, shipped.id)
    pickup = make_approved_dossier(db.session, delivery_mode="pickup")
    issue_certificate(db.session, pickup.id)
    staff = make_user(db.session, email="accueil@example.test")
    slot = make_slot(db.session, capacity=2)
    appointment = delivery.book_slot(db.session, pickup.id, slot.id, actor=staff)
    certificate = db.session.scalars(
        sa.select(Certificate).where(Certificate.dossier_id == shipped.id)
    ).one()
    shipment = db.session.scalars(
        sa.select(Shipment).where(Shipment.dossier_id == shipped.id)
    ).one()
    document = db.session.scalars(
        sa.select(Document).where(Document.dossier_id == to_decide.id)
    ).first()
    assert document is not None
    message = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).first()
    db.session.commit()
    return DataSet(
        to_decide, refused, shipped, pickup, certificate, shipment, appointment, document, message
    )


def _arguments(data: DataSet) -> dict[str, list[int | str]]:
    dossiers = [data.to_decide.id, data.refused.id, data.shipped.id, data.pickup.id]
    return {
        "dossier_id": dossiers,
        "certificate_id": [data.certificate.id],
        "document_id": [data.document.id],
        "shipment_id": [data.shipment.id],
        "appointment_id": [data.appointment.id],
        "message_id": [data.message.id] if data.message else [],
        "page": [1],
    }


def _pages(app: Flask, data: DataSet) -> Iterator[tuple[str, str]]:
    """(endpoint, URL) of every GET page the data set can fill."""
    arguments = _arguments(data)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()) or rule.endpoint in NOT_PAGE_ENDPOINTS:
            continue
        if rule.endpoint in SIGN_IN_ENDPOINTS or any(part in rule.rule for part in NOT_PAGES):
            continue
        names = sorted(rule.arguments)
        if any(name not in arguments for name in names):
            continue
        if not names:
            yield rule.endpoint, rule.build({})[1]
            continue
        for value in arguments[names[0]]:
            values = {name: arguments[name][0] for name in names}
            values[names[0]] = value
            yield rule.endpoint, rule.build(values)[1]


def _admin_details(data: DataSet, user: User) -> list[str]:
    """Flask-Admin's record pages take the record in the query string."""
    return [
        f"/admin/admin_users/details/?id={user.id}",
        f"/admin/admin_users/edit/?id={user.id}",
        f"/admin/admin_slots/details/?id={data.appointment.slot_id}",
        f"/admin/admin_slots/edit/?id={data.appointment.slot_id}",
    ]


def _crawl(
    client: FlaskClient, urls: list[tuple[str, str]], findings: Findings, role: str
) -> set[str]:
    """The endpoints whose page the role could read (200)."""
    read: set[str] = set()
    for endpoint, url in urls:
        response = client.get(url)
        assert response.status_code < 500, f"{role} {url}: {response.status_code}"
        if response.mimetype != "text/html" or 300 <= response.status_code < 400:
            continue  # a file, JSON, or a redirect (its body is never shown)
        findings.read(f"{role} {url} ({endpoint})", response.get_data(as_text=True))
        if response.status_code == 200:
            read.add(endpoint)
    return read


# Pages each role must have read, or the crawl lost its way (a fixture without data, a
# sign-in gone wrong) and its silence would prove nothing.
MUST_READ = {
    "operator": {
        "review.queue_page",
        "review.dossier_page",
        "issuance.certificate_page",
        "delivery.shipments",
        "delivery.pickup_page",
        "notify.message_page",
    },
    "supervisor": {"supervision.dashboard", "audit.trail", "review.dossier_page"},
    "admin": {"admin_users.index_view", "admin.record", "audit.trail"},
}


@pytest.mark.parametrize("role", ["operator", "supervisor", "admin"])
def test_every_page_reads_in_french_for_each_role(
    app: Flask, client: FlaskClient, data: DataSet, role: str
) -> None:
    user = make_user(db.session, role=role)
    db.session.commit()
    if role != "admin":
        with app.test_request_context():
            claim(db.session, data.to_decide.id, user, claim_minutes=60)
        db.session.commit()
    sign_in(client, user)
    urls = list(_pages(app, data))
    if role == "admin":
        urls += [("admin.record", url) for url in _admin_details(data, user)]
    findings = Findings()
    read = _crawl(client, urls, findings, role)
    assert MUST_READ[role] <= read, sorted(read)
    assert not findings.problems, "\n".join(findings.problems)


def test_the_audit_trail_says_its_times_are_utc_and_names_events_in_french(
    client: FlaskClient, data: DataSet
) -> None:
    supervisor = make_user(db.session, role="supervisor")
    db.session.commit()
    sign_in(client, supervisor)
    html = client.get("/audit/").get_data(as_text=True)
    text = VisibleText.of(html)
    assert "Date (UTC)" in text
    assert "Certificat émis" in text  # issuance.certificate_issued
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} UTC", text)


def test_the_certificate_page_names_the_subject_attributes_in_french(
    client: FlaskClient, data: DataSet
) -> None:
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    text = VisibleText.of(
        client.get(f"/emission/certificats/{data.certificate.id}").get_data(as_text=True)
    )
    for name in ("Nom commun", "Nom", "Prénom", "Organisation", "Identifiant de l'organisation"):
        assert name in text
    assert "2.5.4." not in text


def test_the_queue_names_failing_rules_by_their_french_labels(
    client: FlaskClient, data: DataSet
) -> None:
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    html = client.get("/validation/", query_string={"onglet": "incomplete"}).get_data(as_text=True)
    text = VisibleText.of(html)
    assert "Ancienneté de l'extrait Kbis" in text
    assert 'title="kbis.age"' in html  # the id stays at hand for support


def test_error_pages_are_french_for_people_and_json_under_the_api(
    app: Flask, client: FlaskClient, data: DataSet
) -> None:
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    findings = Findings()

    missing = client.get("/cette-page-n-existe-pas")
    assert missing.status_code == 404
    assert "Page introuvable" in missing.get_data(as_text=True)
    findings.read("404", missing.get_data(as_text=True))

    forbidden = client.get("/supervision/")
    assert forbidden.status_code == 403
    assert "Accès refusé" in forbidden.get_data(as_text=True)
    findings.read("403", forbidden.get_data(as_text=True))

    wrong_method = client.post("/supervision/derogations")
    assert wrong_method.status_code == 405
    findings.read("405", wrong_method.get_data(as_text=True))

    api = client.get("/api/v1/rien-ici")
    assert api.status_code == 404
    assert api.mimetype == "application/problem+json"
    message = "Cette adresse ne correspond à aucune page, ou l'élément demandé n'existe plus."
    assert api.get_json() == {
        "type": "urn:ra-workbench:problem:not_found",
        "title": "Adresse inconnue",
        "status": 404,
        "detail": message,
        "code": "not_found",
        # the earlier {"error", "message"}, kept for the portal
        "error": "not_found",
        "message": message,
    }

    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        too_big = client.post(
            f"/validation/dossiers/{data.to_decide.id}/notes", data={"note-body": "x" * 4096}
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert too_big.status_code == 413
    assert "Envoi trop volumineux" in too_big.get_data(as_text=True)
    findings.read("413", too_big.get_data(as_text=True))

    with app.test_request_context("/validation/"):
        page, code = error_response(BadRequest())
    assert code == 400
    assert "Requête invalide" in page
    findings.read("400", page)
    with app.test_request_context("/validation/"):
        page, code = error_response(InternalServerError())
    assert code == 500
    assert "Erreur interne" in page
    findings.read("500", page)
    with app.test_request_context("/api/v1/dossiers"):
        answer, code = error_response(InternalServerError())
    assert answer.get_json()["error"] == "internal_error"

    assert not findings.problems, "\n".join(findings.problems)


def test_a_refused_form_keeps_what_was_typed_and_says_why_in_french(
    client: FlaskClient, data: DataSet
) -> None:
    operator = make_user(db.session)
    db.session.commit()
    with client.application.test_request_context():
        claim(db.session, data.to_decide.id, operator, claim_minutes=60)
    db.session.commit()
    sign_in(client, operator)
    typed = "Merci de renvoyer un extrait Kbis récent. " + "Détail. " * 520  # > 4 000
    response = client.post(
        f"/validation/dossiers/{data.to_decide.id}/demander-pieces",
        data={"request-reasons": ["kbis.age"], "request-comment": typed},
    )
    html = response.get_data(as_text=True)
    assert "Le champ ne peut pas contenir plus de 4000 caractères" in html
    assert "Field cannot be longer" not in html
    assert typed.strip() in html  # still in the text area, to shorten and send again

    # Refused by the service rather than by the form (the checks were run again meanwhile,
    # in another tab): the same.
    comment = "Vu avec le client au téléphone"
    response = client.post(
        f"/validation/dossiers/{data.to_decide.id}/demander-pieces",
        data={
            "request-reasons": ["kbis.age"],
            "request-comment": comment,
            "request-check_run_id": "999999",
        },
    )
    html = response.get_data(as_text=True)
    assert "Les contrôles ont été relancés depuis l'affichage de la page" in VisibleText.of(html)
    assert comment in html


def test_a_refused_call_log_keeps_the_note_on_the_pickup_page(
    client: FlaskClient, data: DataSet
) -> None:
    operator = make_user(db.session)
    db.session.commit()
    sign_in(client, operator)
    note = "Rappeler après 18 h, demander Mme Durand"
    response = client.post(
        f"/remise/retraits/{data.pickup.id}/appels",
        data={"person_role": "holder", "outcome": "perdu", "note": note},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "N'est pas un choix valide" in VisibleText.of(html)
    assert note in VisibleText.of(html)  # in the note's text area, to send again


def test_a_decision_on_a_dossier_someone_else_holds_names_who_holds_it(
    client: FlaskClient, data: DataSet
) -> None:
    first = make_user(db.session, first_name="Claire", last_name="Opératrice")
    second = make_user(db.session)
    db.session.commit()
    with client.application.test_request_context():
        claim(db.session, data.to_decide.id, first, claim_minutes=60)
    db.session.commit()
    sign_in(client, second)
    response = client.post(
        f"/validation/dossiers/{data.to_decide.id}/refuser",
        data={"reject-reason": "duplicate", "reject-comment": "Doublon", "reject-confirm": "y"},
    )
    text = VisibleText.of(response.get_data(as_text=True))
    assert "Claire Opératrice traite ce dossier depuis" in text
    assert "Prenez d'abord le dossier en charge" not in text


def test_the_administration_prints_prices_and_times_the_french_way(
    client: FlaskClient, data: DataSet
) -> None:
    admin = make_user(db.session, role="admin")
    db.session.commit()
    sign_in(client, admin)
    offers = VisibleText.of(client.get("/admin/admin_offers/").get_data(as_text=True))
    assert "228,00 €" in offers  # (the visible text folds the no-break space)
    assert "228.00" not in offers
    users = VisibleText.of(client.get("/admin/admin_users/").get_data(as_text=True))
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", users)


def test_the_claim_box_gives_the_paris_hour_the_claim_was_taken(
    client: FlaskClient, data: DataSet
) -> None:
    holder = make_user(db.session, first_name="Hugo", last_name="Garnier")
    other = make_user(db.session)
    db.session.commit()
    with client.application.test_request_context():
        claim(db.session, data.to_decide.id, holder, claim_minutes=60)
    db.session.commit()
    taken = db.session.get(Dossier, data.to_decide.id).claimed_at
    assert taken is not None
    sign_in(client, other)
    text = VisibleText.of(
        client.get(f"/validation/dossiers/{data.to_decide.id}").get_data(as_text=True)
    )
    paris_hour = local_time(taken).strftime("%H:%M")
    utc_hour = taken.astimezone(dt.UTC).strftime("%H:%M")
    assert paris_hour != utc_hour  # Paris is one or two hours ahead of UTC
    assert f"depuis {paris_hour}" in text
    assert f"depuis {utc_hour}" not in text


def test_a_moment_prints_the_french_way_in_paris_time() -> None:
    from ra_workbench.web.filters import money, number, paris

    assert paris(dt.datetime(2026, 12, 1, 20, 12, tzinfo=dt.UTC)) == "01/12/2026 21:12"
    assert money("294.00") == "294,00\u00a0€"
    assert number(58.6) == "58,6"
