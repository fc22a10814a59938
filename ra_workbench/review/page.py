"""What the dossier page shows, gathered in one place (read-only: no OCR, no writes).

Declared data beside what the extractors read (MRZ, Kbis) with mismatches flagged, the
latest check results failing first, the documents paired recto/verso with the MRZ lines
read from each, signatures, payment, delivery, revisions and decisions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.checks.service import latest_run
from ra_workbench.documents.labels import DOCUMENT_TYPE_LABELS_FR
from ra_workbench.documents.models import Document, Extraction
from ra_workbench.dossiers.labels import ROLE_LABELS_FR
from ra_workbench.dossiers.models import Dossier, Person, SignatureEvent
from ra_workbench.dossiers.states import STATUS_LABELS_FR, DossierStatus
from ra_workbench.extraction.names import fold as normalise_name
from ra_workbench.review.claims import claim_is_active
from ra_workbench.review.conflicts import conflicting_person
from ra_workbench.review.decisions import decisions_for, pending_override, sorted_results
from ra_workbench.review.models import DECISION_LABELS_FR, Decision
from ra_workbench.review.queue import OPEN_STATUSES, VERDICT_LABELS_FR, age_days

SIGNATURE_LABELS_FR = {
    "signed": "Signé",
    "refused": "Refusé",
    "pending": "En attente",
    "expired": "Expiré",
}
IDENTITY_CHECK_LABELS_FR = {
    "self_id_passed": "Vérification d'identité réussie",
    "self_id_failed": "Vérification d'identité échouée",
    "not_done": "Vérification d'identité non faite",
}
SIDE_LABELS_FR = {"recto": "Recto", "verso": "Verso"}


def _first(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = data.get(key)
        if value not in (None, "", []):
            return value
    return None


def _day(value: Any) -> str:
    """A date the reader stored as ISO text (« 1985-04-12 »), the French way: 12/04/1985."""
    text = _text(value)
    try:
        return dt.date.fromisoformat(text).strftime("%d/%m/%Y")
    except ValueError:
        return text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


@dataclass
class Comparison:
    label: str
    declared: str
    mrz: str = ""
    kbis: str = ""
    mismatch: bool = False


@dataclass
class MrzBox:
    """Where the MRZ was read: its page and its band in percent of that page's image."""

    page: int
    left: float
    top: float
    width: float
    height: float


def mrz_box(mrz: dict[str, Any]) -> MrzBox | None:
    """The band the reader located (older readings kept only pixels, without the page size:
    they get no box rather than a guessed one)."""
    location = mrz.get("location")
    if not isinstance(location, dict):
        return None
    fraction = location.get("bbox_fraction")
    if not isinstance(fraction, list) or len(fraction) != 4:
        return None
    try:
        left, top, width, height = (float(v) * 100 for v in fraction)
        page = int(location.get("page") or 1)
    except (TypeError, ValueError):
        return None
    if width <= 0 or height <= 0:
        return None
    return MrzBox(page, round(left, 2), round(top, 2), round(width, 2), round(height, 2))


@dataclass
class DocumentView:
    document: Document
    label: str
    is_pdf: bool
    pages: int  # page images shown: never more than the checks accept
    mrz_lines: list[str] = field(default_factory=list)
    mrz_box: MrzBox | None = None

    @property
    def pages_hidden(self) -> bool:
        return self.is_pdf and (self.document.page_count or 0) > self.pages


@dataclass
class PersonPanel:
    role: str
    label: str
    person: Person
    comparisons: list[Comparison]
    identity_pairs: list[list[DocumentView]]
    signature: SignatureEvent | None


@dataclass
class DossierPage:
    dossier: Dossier
    status_label: str
    verdict_label: str
    age_days: int
    overdue: bool
    claim_active: bool
    claimed_by_me: bool
    conflict: Person | None
    run: CheckRun | None
    results: list[CheckResult]
    outcome_counts: dict[str, int]
    people: list[PersonPanel]
    organisation: list[Comparison]
    organisation_documents: list[DocumentView]
    other_documents: list[DocumentView]
    superseded_documents: list[Document]
    decisions: list[Decision]
    pending_override: Decision | None
    run_is_stale: bool
    results_by_document: dict[int, list[CheckResult]]


def _extractions(session: Session, documents: list[Document]) -> dict[str, dict[str, Any]]:
    """sha256 → merged extraction results (newest last wins), from the cache only."""
    digests = {d.sha256 for d in documents}
    if not digests:
        return {}
    merged: dict[str, dict[str, Any]] = {}
    for extraction in session.scalars(
        sa.select(Extraction).where(Extraction.sha256.in_(digests)).order_by(Extraction.id)
    ):
        if isinstance(extraction.result, dict):
            merged.setdefault(extraction.sha256, {}).update(extraction.result)
    return merged


def _mrz_of(result: dict[str, Any]) -> dict[str, Any]:
    mrz = result.get("mrz")
    return mrz if isinstance(mrz, dict) else {}


def _kbis_of(result: dict[str, Any]) -> dict[str, Any]:
    kbis = result.get("kbis")
    return kbis if isinstance(kbis, dict) else {}


def mrz_lines(mrz: dict[str, Any]) -> list[str]:
    lines = _first(mrz, "lines", "raw_lines", "raw", "text")
    if isinstance(lines, str):
        return [line for line in lines.splitlines() if line.strip()]
    if isinstance(lines, list):
        return [str(line) for line in lines]
    return []


def _manager_names(kbis: dict[str, Any]) -> list[str]:
    managers = _first(kbis, "managers", "legal_representatives", "representatives", "dirigeants")
    names: list[str] = []
    for manager in managers or []:
        if isinstance(manager, dict):
            names.append(
                _text(
                    _first(manager, "name", "full_name")
                    or f"{_text(_first(manager, 'first_names', 'first_name', 'given_names'))} "
                    f"{_text(_first(manager, 'last_name', 'surname'))}"
                ).strip()
            )
        else:
            names.append(str(manager))
    return [n for n in names if n]


def _person_in(names: list[str], person: Person) -> bool:
    last = normalise_name(person.last_name)
    first = normalise_name(person.first_name).split(" ")[:1]
    for name in names:
        tokens = normalise_name(name).split(" ")
        if last and all(t in tokens for t in last.split(" ")) and (not first or first[0] in tokens):
            return True
    return False


def _person_comparisons(
    person: Person, mrz: dict[str, Any], kbis_names: list[str] | None
) -> list[Comparison]:
    surname = _text(_first(mrz, "surname", "last_name", "surnames"))
    given = _text(_first(mrz, "given_names", "names", "first_names", "given_name"))
    rows = [
        Comparison(
            "Nom",
            person.last_name,
            mrz=surname,
            mismatch=bool(surname) and normalise_name(surname) != normalise_name(person.last_name),
        ),
        Comparison(
            "Prénom(s)",
            person.first_name,
            mrz=given,
            mismatch=bool(given)
            and not set(normalise_name(person.first_name).split(" ")).issubset(
                set(normalise_name(given).split(" "))
            ),
        ),
        Comparison("Date de naissance", "", mrz=_day(_first(mrz, "birth_date", "date_of_birth"))),
        Comparison(
            "Type de pièce", "", mrz=_text(_first(mrz, "document_type", "document_code", "format"))
        ),
        Comparison(
            "N° de pièce", "", mrz=_text(_first(mrz, "document_number", "number", "doc_number"))
        ),
        Comparison("Expire le", "", mrz=_day(_first(mrz, "expiry_date", "expiry", "expires_on"))),
        Comparison("Nationalité", "", mrz=_text(_first(mrz, "nationality"))),
    ]
    if kbis_names is not None:
        listed = _person_in(kbis_names, person)
        rows[0].kbis = "figure parmi les dirigeants" if listed else "absent des dirigeants"
        rows[0].mismatch = rows[0].mismatch or (bool(kbis_names) and not listed)
    return rows


def _document_view(
    document: Document, extracted: dict[str, Any], max_pdf_pages: int
) -> DocumentView:
    is_pdf = document.media_type == "application/pdf"
    side = SIDE_LABELS_FR.get(document.side or "", "")
    label = DOCUMENT_TYPE_LABELS_FR.get(document.type, document.type)
    return DocumentView(
        document=document,
        label=f"{label} {side.lower()}".strip() if side else label,
        is_pdf=is_pdf,
        pages=document.pages_shown(max_pdf_pages) if is_pdf else 1,
        mrz_lines=mrz_lines(_mrz_of(extracted)),
        mrz_box=mrz_box(_mrz_of(extracted)),
    )


def _pairs(views: list[DocumentView]) -> list[list[DocumentView]]:
    """Recto next to verso; a single file (a passport page, a PDF) on its own."""
    rectos = [v for v in views if v.document.side == "recto"]
    versos = [v for v in views if v.document.side == "verso"]
    others = [v for v in views if v.document.side not in ("recto", "verso")]
    pairs: list[list[DocumentView]] = []
    for i in range(max(len(rectos), len(versos))):
        pairs.append(rectos[i : i + 1] + versos[i : i + 1])
    pairs += [[v] for v in others]
    return pairs


def latest_signatures(dossier: Dossier) -> dict[str, SignatureEvent]:
    latest: dict[str, SignatureEvent] = {}
    for event in dossier.signature_events:
        current = latest.get(event.signer)
        if current is None or event.at >= current.at:
            latest[event.signer] = event
    return latest


def build_page(
    session: Session,
    dossier: Dossier,
    user: User,
    *,
    sla_days: int,
    claim_minutes: int,
    max_pdf_pages: int,
    now: dt.datetime,
) -> DossierPage:
    run = latest_run(session, dossier.id)
    results = sorted_results(run)
    documents = dossier.current_documents()
    extracted = _extractions(session, documents)
    kbis_docs = [d for d in documents if d.type == "kbis"]
    kbis: dict[str, Any] = {}
    for doc in kbis_docs:
        kbis = kbis or _kbis_of(extracted.get(doc.sha256, {}))
    kbis_names = _manager_names(kbis) if kbis else None
    signatures = latest_signatures(dossier)

    panels: list[PersonPanel] = []
    for person in dossier.people:
        identity = [
            _document_view(d, extracted.get(d.sha256, {}), max_pdf_pages)
            for d in documents
            if d.type == "identity"
            and (d.person_id == person.id or (d.person_id is None and d.person_role == person.role))
        ]
        mrz: dict[str, Any] = {}
        for view in identity:
            mrz = mrz or _mrz_of(extracted.get(view.document.sha256, {}))
        panels.append(
            PersonPanel(
                role=person.role,
                label=ROLE_LABELS_FR.get(person.role, person.role),
                person=person,
                comparisons=_person_comparisons(
                    person, mrz, kbis_names if person.role == "legal_representative" else None
                ),
                identity_pairs=_pairs(identity),
                signature=signatures.get(person.role),
            )
        )

    org = dossier.organisation
    kbis_siren = _text(_first(kbis, "siren"))
    kbis_name = _text(_first(kbis, "denomination", "name", "company_name"))
    organisation = [
        Comparison(
            "SIREN",
            org.siren,
            kbis=kbis_siren,
            mismatch=bool(kbis_siren) and kbis_siren.replace(" ", "") != org.siren.replace(" ", ""),
        ),
        Comparison(
            "Dénomination",
            org.name,
            kbis=kbis_name,
            mismatch=bool(kbis_name) and normalise_name(kbis_name) != normalise_name(org.name),
        ),
        Comparison("Forme juridique", org.legal_form, kbis=_text(_first(kbis, "legal_form"))),
        Comparison(
            "Date de l'extrait", "", kbis=_text(_first(kbis, "date", "kbis_date", "issued_on"))
        ),
        Comparison("Dirigeants", "", kbis=", ".join(kbis_names or [])),
    ]
    results_by_document: dict[int, list[CheckResult]] = {}
    for result in results:
        if result.document_id is not None:
            results_by_document.setdefault(result.document_id, []).append(result)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    age = age_days(dossier.submitted_at, now)
    status = DossierStatus(dossier.status)
    active = claim_is_active(dossier, claim_minutes=claim_minutes, now=now)
    return DossierPage(
        dossier=dossier,
        status_label=STATUS_LABELS_FR[status],
        verdict_label=VERDICT_LABELS_FR.get(dossier.verdict or "", "Non contrôlé"),
        age_days=age,
        overdue=dossier.status in OPEN_STATUSES and age > sla_days,
        claim_active=active,
        claimed_by_me=active and dossier.claimed_by_id == user.id,
        conflict=conflicting_person(dossier, user),
        run=run,
        results=results,
        outcome_counts=counts,
        people=panels,
        organisation=organisation,
        organisation_documents=[
            _document_view(d, extracted.get(d.sha256, {}), max_pdf_pages) for d in kbis_docs
        ],
        other_documents=[
            _document_view(d, extracted.get(d.sha256, {}), max_pdf_pages)
            for d in documents
            if d.type not in ("kbis", "identity")
        ],
        superseded_documents=[d for d in dossier.documents if d.superseded],
        decisions=decisions_for(session, dossier.id),
        pending_override=pending_override(session, dossier.id)
        if dossier.status == DossierStatus.AWAITING_SECOND_APPROVAL.value
        else None,
        run_is_stale=run is not None
        and (run.revision != dossier.revision or run.evaluation_date < now.date()),
        results_by_document=results_by_document,
    )


__all__ = [
    "DECISION_LABELS_FR",
    "IDENTITY_CHECK_LABELS_FR",
    "SIGNATURE_LABELS_FR",
    "DossierPage",
    "build_page",
]
