"""Factories per domain: build valid objects with sensible defaults, override what matters.

Shared by every test package; add a factory here rather than copying set-up around.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
from decimal import Decimal
from typing import Any

import pyotp
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import Offer, User
from ra_workbench.accounts.service import create_user
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.checks.results import RULE_IDS
from ra_workbench.clock import PARIS
from ra_workbench.db import utcnow
from ra_workbench.documents.models import Document, Extraction
from ra_workbench.documents.store import DocumentStore
from ra_workbench.dossiers.models import Dossier, Organisation, Person, PersonRole
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.synth.offers import OFFERS, PICKUP_SURCHARGE

_order_numbers = itertools.count(300001)
_emails = itertools.count(1)
_documents = itertools.count(1)

ADDRESS = {
    "line1": "12 RUE DES LILAS",
    "line2": "",
    "postcode": "69003",
    "city": "LYON",
    "country": "FR",
}


def make_person(role: str, **overrides: Any) -> Person:
    defaults: dict[str, Any] = {
        "role": role,
        "civility": "MME",
        "first_name": "CLAIRE",
        "last_name": "DURAND",
        "email": "c.durand@ateliers-morel.fr",
        "mobile": "0698765432",
        "address": dict(ADDRESS),
    }
    if role == PersonRole.LEGAL_REPRESENTATIVE:
        defaults.update(
            civility="M",
            first_name="PAUL",
            last_name="MOREL",
            email="p.morel@ateliers-morel.fr",
            mobile="+33612345678",
        )
    if role == PersonRole.HOLDER:
        defaults["activation_code_channel"] = "sms"
    defaults.update(overrides)
    return Person(**defaults)


def ensure_offers(session: Session) -> None:
    """The offers table as the demo seeds it: payment.amount compares with its prices."""
    for code, label, price in (*OFFERS, PICKUP_SURCHARGE):
        if session.scalar(sa.select(Offer.id).where(Offer.code == code)) is None:
            session.add(Offer(code=code, label=label, price_ttc=price, active=True))
    session.flush()


def make_dossier(
    session: Session,
    *,
    people: list[Person] | None = None,
    organisation: Organisation | None = None,
    **overrides: Any,
) -> Dossier:
    submitted = dt.datetime(2026, 11, 20, 9, 15, tzinfo=dt.UTC)
    values: dict[str, Any] = {
        "order_number": str(next(_order_numbers)),
        "revision": 1,
        "format": "portail-commande/1",
        "submitted_at": submitted,
        "offer_code": "PP-RGS2-USB",
        "offer_label": "Certificat personne physique sur cle USB",
        "price_ttc": Decimal("228.00"),
        "delivery_mode": "shipping",
        "payment_method": "card",
        "payment_amount_ttc": Decimal("228.00"),
        "payment_transaction_id": "PAY-20261120-0042",
        "documents_valid_attested": True,
        "status": DossierStatus.PENDING.value,
        "declared": {},
    }
    values.update(overrides)
    ensure_offers(session)
    dossier = Dossier(**values)
    dossier.organisation = organisation or Organisation(
        siren="732829320", name="ATELIERS MOREL", legal_form="SAS", address=dict(ADDRESS)
    )
    dossier.people = people or [
        make_person(PersonRole.HOLDER),
        make_person(PersonRole.LEGAL_REPRESENTATIVE),
    ]
    session.add(dossier)
    session.flush()
    return dossier


def make_user(session: Session, role: str = "operator", **overrides: Any) -> User:
    n = next(_emails)
    values: dict[str, Any] = {
        "email": f"{role}{n}@certeurope.example",
        "password": "correct-horse-battery",
        "role": role,
        "first_name": "Agent",
        "last_name": f"Numero{n}",
    }
    totp = overrides.pop("totp", True)
    values.update(overrides)
    user = create_user(session, **values)
    if totp:
        # Staff accounts hold a second factor (web/auth.py); tests.auth.sign_in reads this.
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = utcnow()
        session.flush()
    return user


# --- documents and checks (review) --------------------------------------------------------

CLEAN_RULES = tuple(rule for rule in RULE_IDS if rule != "mandate.valid")

VERDICT_BY_WORST = {
    "fail": "incomplete",
    "error": "blocked",
    "pending": "waiting_signatures",
}


def png_bytes(width: int = 320, height: int = 200, color: str = "#d0e4f5", text: str = "") -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), color)
    if text:
        ImageDraw.Draw(image).text((10, 10), text, fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pdf_bytes(pages: int = 1, text: str = "EXTRAIT KBIS") -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for page in range(pages):
        pdf.drawString(72, 760, f"{text} — page {page + 1}")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def make_document(
    session: Session,
    dossier: Dossier,
    *,
    type: str = "identity",
    person_role: str | None = "holder",
    side: str | None = "recto",
    data: bytes | None = None,
    original_name: str | None = None,
    **overrides: Any,
) -> Document:
    if data is None:
        data = pdf_bytes() if type != "identity" else png_bytes(text=f"{person_role} {side}")
    media = "application/pdf" if data.startswith(b"%PDF") else "image/png"
    digest, _ = DocumentStore(current_app.config["RA_SETTINGS"].store_dir).put(data)
    person = dossier.person(person_role) if person_role else None
    extension = ".pdf" if media == "application/pdf" else ".png"
    document = Document(
        dossier_id=dossier.id,
        person_id=person.id if person else None,
        person_role=person_role,
        type=type,
        side=side,
        original_name=original_name
        or f"{type}-{person_role or 'dossier'}-{side or 'page'}{extension}",
        size=len(data),
        media_type=media,
        sha256=digest,
        page_count=overrides.pop("page_count", 1 if media == "application/pdf" else None),
        revision=dossier.revision,
        **overrides,
    )
    session.add(document)
    session.flush()
    session.expire(dossier, ["documents"])  # added by id: the loaded list is now stale
    return document


def make_extraction(
    session: Session, document: Document, kind: str, result: dict[str, Any]
) -> Extraction:
    extraction = Extraction(
        sha256=document.sha256, kind=kind, extractor_version="test-1", result=result
    )
    session.add(extraction)
    session.flush()
    return extraction


def make_check_run(
    session: Session,
    dossier: Dossier,
    results: list[tuple[str, str] | dict[str, Any]] | None = None,
    *,
    clean: bool = True,
    evaluation_date: dt.date | None = None,
    verdict: str | None = None,
) -> CheckRun:
    """A run over `dossier`: `results` as (rule, outcome) pairs or CheckResult field dicts;
    with `clean`, every other catalogue rule passes. Sets the dossier's verdict."""
    specs: list[dict[str, Any]] = []
    for item in results or []:
        if isinstance(item, tuple):
            rule, outcome = item
            specs.append({"rule": rule, "outcome": outcome})
        else:
            specs.append(dict(item))
    if clean:
        named = {s["rule"] for s in specs}
        specs += [{"rule": r, "outcome": "pass"} for r in CLEAN_RULES if r not in named]
    outcomes = {s["outcome"] for s in specs}
    if verdict is None:
        verdict = "ready"
        for worst in ("error", "pending", "fail"):
            if worst in outcomes:
                verdict = VERDICT_BY_WORST[worst]
    run = CheckRun(
        dossier_id=dossier.id,
        revision=dossier.revision,
        evaluation_date=evaluation_date or utcnow().date(),
        rules_hash="0" * 64,
        extractor_version="test-1",
        verdict=verdict,
        trigger="test",
    )
    for spec in specs:
        spec.setdefault(
            "message",
            "Contrôle conforme." if spec["outcome"] == "pass" else f"Problème : {spec['rule']}",
        )
        spec.setdefault("evidence", {})
        run.results.append(CheckResult(**spec))
    session.add(run)
    dossier.verdict = verdict
    dossier.verdict_at = utcnow()
    session.flush()
    return run


# --- issuance and delivery ----------------------------------------------------------------


def mrz_reading(
    surname: str = "DURAND",
    given_names: tuple[str, ...] = ("CLAIRE", "MARIE"),
    *,
    birth_date: str = "1985-04-12",
    expiry_date: str = "2031-02-01",
    valid: bool = True,
    document_number: str | None = None,
) -> dict[str, Any]:
    """An identity extraction result as the MRZ reader stores it (the fields issuance uses).
    Each person has their own card number (identity.reuse fails on another person's):
    CLAIRE MARIE DURAND's is X4RTBPFW4, anyone else's derived from who they are."""
    if document_number is None:
        who = f"{surname}|{' '.join(given_names)}|{birth_date}"
        document_number = (
            "X4RTBPFW4"
            if who == "DURAND|CLAIRE MARIE|1985-04-12"
            else "Y" + hashlib.sha256(who.encode()).hexdigest()[:8].upper()
        )
    return {
        "mrz": {
            "format": "TD1",
            "document_code": "ID",
            "issuing_state": "FRA",
            "document_number": document_number,
            "surname": surname,
            "given_names": list(given_names),
            "nationality": "FRA",
            "birth_date": birth_date,
            "sex": "F",
            "expiry_date": expiry_date,
            "valid": valid,
            "checks": {},
        }
    }


def make_read_identity(
    session: Session,
    dossier: Dossier,
    reading: dict[str, Any] | None = None,
    *,
    person_role: str = "holder",
) -> Document:
    """The person's identity document with its MRZ already read (cached for the current
    extractor version, so nothing is OCR'd)."""
    from ra_workbench.documents.extraction_service import extractor_version

    # Distinct bytes per call: the extraction cache is keyed by the file's sha256.
    data = png_bytes(text=f"{person_role} identite {next(_documents)}")
    document = make_document(session, dossier, type="identity", person_role=person_role, data=data)
    session.add(
        Extraction(
            sha256=document.sha256,
            kind="identity",
            extractor_version=extractor_version(),
            result=reading or mrz_reading(),
        )
    )
    session.flush()
    return document


def approve_through_review(
    session: Session, dossier: Dossier, *, operator: User | None = None
) -> Any:
    """Approve `dossier` (PENDING, checked clean) the way an operator does: claim, then the
    review service's `approve`, which stores the decision, writes the evidence and records
    the issuance request. The issuance job it defers is dropped: tests run it themselves."""
    from ra_workbench.issuance.service import ISSUE_TASK
    from ra_workbench.review.claims import claim
    from ra_workbench.review.decisions import approve
    from ra_workbench.unit import DEFERRED_JOBS

    operator = operator or make_user(session)
    claim(session, dossier.id, operator, claim_minutes=60)
    run = session.scalars(
        sa.select(CheckRun).where(CheckRun.dossier_id == dossier.id).order_by(CheckRun.id.desc())
    ).first()
    decision = approve(
        session,
        dossier.id,
        operator,
        check_run_id=run.id if run else None,
        claim_minutes=60,
        today=run.evaluation_date if run else None,
    )
    jobs = session.info.get(DEFERRED_JOBS, [])
    jobs[:] = [job for job in jobs if not (job[0] == ISSUE_TASK and job[1] == (dossier.id,))]
    return decision


def make_approved_dossier(
    session: Session,
    reading: dict[str, Any] | None = None,
    *,
    operator: User | None = None,
    **overrides: Any,
) -> Dossier:
    """An APPROVED dossier whose holder's identity document has been read: checked clean
    and approved through the review service (decision, evidence, issuance request)."""
    overrides.setdefault("status", DossierStatus.PENDING.value)
    dossier = make_dossier(session, **overrides)
    make_read_identity(session, dossier, reading)
    make_check_run(session, dossier)
    approve_through_review(session, dossier, operator=operator)
    return dossier


def make_slot(
    session: Session,
    *,
    starts_in: dt.timedelta = dt.timedelta(days=2),
    minutes: int = 30,
    capacity: int = 1,
    location: str = "CertEurope, 26 rue du Faubourg Poissonnière, 75010 Paris",
) -> Any:
    from ra_workbench.delivery.models import PickupSlot

    starts = (utcnow() + starts_in).replace(second=0, microsecond=0)
    slot = PickupSlot(
        starts_at=starts,
        ends_at=starts + dt.timedelta(minutes=minutes),
        location=location,
        capacity=capacity,
        booked=0,
    )
    session.add(slot)
    session.flush()
    return slot


def make_slot_today(session: Session, **overrides: Any) -> Any:
    """A slot later today in Paris (the hand-over happens on the appointment's day only):
    halfway to midnight, at most two hours from now."""
    now = dt.datetime.now(PARIS)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=PARIS)
    starts_in = min((midnight - now) / 2, dt.timedelta(hours=2))
    return make_slot(session, starts_in=max(starts_in, dt.timedelta(seconds=61)), **overrides)


def make_issuance_request(session: Session, dossier: Dossier) -> Any:
    """The request a certificate row must point to (one certificate per request)."""
    from ra_workbench.issuance.models import IssuanceRequest

    request = IssuanceRequest(dossier_id=dossier.id, state="issued", attempts=1)
    session.add(request)
    session.flush()
    return request
