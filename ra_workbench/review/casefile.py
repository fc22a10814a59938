"""The whole case on the dossier page, below the evidence: the certificate, the messages sent,
the internal notes and the timeline of every event; delivery (the shipment or the pickup
appointment) comes from a later domain, which review may not import: the shell adds it with
`add_case_section` (ra_workbench/web/casefile.py), as it teaches the search what delivery
knows.

A customer phoning with an order number is answered from this one page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.audit.service import record
from ra_workbench.certificates.models import Certificate
from ra_workbench.dossiers.models import Dossier
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.review.common import ReviewError, get_dossier
from ra_workbench.review.models import DossierNote

NOTE_MAX_LENGTH = 4000
TIMELINE_LIMIT = 500


@dataclass(frozen=True)
class CaseSection:
    """One block of the case: `template` renders `data` (under the name `section`)."""

    key: str  # the block's id on the page
    title: str
    template: str
    data: Any = None

    @property
    def count(self) -> int | None:
        """The number of rows shown beside the title in the page's index (lists only)."""
        return len(self.data) if isinstance(self.data, list) else None


CaseSectionProvider = Callable[[Session, Dossier], CaseSection | None]
_later_sections: list[CaseSectionProvider] = []


def add_case_section(provider: CaseSectionProvider) -> None:
    """A later domain's block (delivery), wired by the shell once."""
    if provider not in _later_sections:
        _later_sections.append(provider)


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    actor: str
    event_type: str
    payload: dict[str, Any] = field(default_factory=dict)


def _rows_of(session: Session, model: Any, at: Any, dossier: Dossier) -> list[Any]:
    """The dossier's rows of `model`, oldest first."""
    return list(
        session.scalars(
            sa.select(model).where(model.dossier_id == dossier.id).order_by(at, model.id)
        )
    )


def certificate_section(session: Session, dossier: Dossier) -> CaseSection | None:
    certificates = _rows_of(session, Certificate, Certificate.issued_at, dossier)
    if not certificates:
        return None
    return CaseSection("certificate", "Certificat", "review/case/certificate.html", certificates)


def messages_section(session: Session, dossier: Dossier) -> CaseSection:
    messages = _rows_of(session, OutboxMessage, OutboxMessage.created_at, dossier)
    return CaseSection("messages", "Messages envoyés", "review/case/messages.html", messages)


def notes_section(session: Session, dossier: Dossier) -> CaseSection:
    notes = _rows_of(session, DossierNote, DossierNote.at, dossier)
    return CaseSection("notes", "Notes internes", "review/case/notes.html", notes)


def timeline(session: Session, dossier: Dossier) -> list[TimelineEntry]:
    """Every audited event on the dossier, oldest first (the trail is the one source)."""
    rows = session.execute(
        sa.select(AuditEvent.at, AuditEvent.actor, AuditEvent.event_type, AuditEvent.payload)
        .where(
            sa.or_(
                AuditEvent.dossier_id == dossier.id,
                AuditEvent.order_number == dossier.order_number,
            )
        )
        .order_by(AuditEvent.seq)
        .limit(TIMELINE_LIMIT)
    ).all()
    return [TimelineEntry(at, actor, kind, payload or {}) for at, actor, kind, payload in rows]


def timeline_section(session: Session, dossier: Dossier) -> CaseSection:
    return CaseSection(
        "timeline", "Chronologie", "review/case/timeline.html", timeline(session, dossier)
    )


def case_sections(session: Session, dossier: Dossier) -> list[CaseSection]:
    """The blocks in the order of the dossier's journey: certificate, delivery, messages,
    then the notes and the timeline."""
    sections = [certificate_section(session, dossier)]
    sections += [provider(session, dossier) for provider in _later_sections]
    sections += [
        messages_section(session, dossier),
        notes_section(session, dossier),
        timeline_section(session, dossier),
    ]
    return [s for s in sections if s is not None]


def add_note(session: Session, dossier_id: int, author: User, body: str) -> DossierNote:
    """An internal note: kept with the dossier and written to the audit trail (its text too:
    notes are staff's words, not the customer's documents)."""
    text = body.strip()
    if not text:
        raise ReviewError("La note est vide.")
    if len(text) > NOTE_MAX_LENGTH:
        raise ReviewError(f"Une note fait au plus {NOTE_MAX_LENGTH} caractères.")
    dossier = get_dossier(session, dossier_id)
    note = DossierNote(dossier_id=dossier.id, author_id=author.id, body=text)
    session.add(note)
    session.flush()
    record(
        session,
        "review.note_added",
        actor=author.email,
        actor_id=author.id,
        dossier=dossier,
        payload={"note_id": note.id, "text": text},
    )
    return note
