"""Retention by category (rules/jobs.toml [retention.*], REQUIREMENTS 14–15), decided here
where certificates are known; each domain erases its own data:

- identity copies: their retention ends a configured time after the certificate they
  supported ended (expiry or revocation), or after the dossier was rejected; the purge is
  ra_workbench/documents/retention.py;
- registration evidence (decisions, check runs, evidence records, the Kbis and mandate of a
  certified dossier): kept, counted;
- dossiers that never led to a certificate, abandoned for a configured time: contact and
  order data erased (dossiers/, checks/, notify/, documents/ retention modules);
- outbox bodies: shortened to their metadata (notify/retention.py).

`run_retention` runs them all (the scheduled job and `ra-workbench jobs purge`)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.audit.service import record
from ra_workbench.certificates.models import Certificate
from ra_workbench.checks.retention import erase_check_evidence
from ra_workbench.clock import PARIS, local_time
from ra_workbench.documents.models import Document
from ra_workbench.documents.retention import DueDossier, mark_due
from ra_workbench.dossiers.models import Dossier, SignatureEvent
from ra_workbench.dossiers.retention import erase_personal_data
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.jobs.rules import RetentionRules
from ra_workbench.notify.retention import erase_dossier_messages, shorten_bodies
from ra_workbench.review.models import Decision, DecisionKind, RegistrationEvidence


def _day_end(day: dt.date) -> dt.datetime:
    """The end of `day` in Paris, where the job's `today` is counted (clock.as_day)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=PARIS)


def due_dossiers(session: Session, *, today: dt.date, rules: RetentionRules) -> list[DueDossier]:
    """Dossiers whose identity copies have reached the end of their retention on `today`."""
    has_unpurged = (
        sa.select(Document.id)
        .where(
            Document.dossier_id == Dossier.id,
            Document.type.in_(rules.document_types),
            Document.purged_at.is_(None),
        )
        .exists()
    )
    due: list[DueDossier] = []
    rejected_cutoff = _day_end(today - dt.timedelta(days=rules.after_rejection_days))
    rejected = session.execute(
        sa.select(Decision.dossier_id, sa.func.max(Decision.at))
        .join(Dossier, Dossier.id == Decision.dossier_id)
        .where(
            Dossier.status == DossierStatus.REJECTED.value,
            Decision.kind == DecisionKind.REJECT,
            has_unpurged,
        )
        .group_by(Decision.dossier_id)
        .having(sa.func.max(Decision.at) < rejected_cutoff)
    )
    due += [DueDossier(d, "rejected", local_time(at).date()) for d, at in rejected]
    # A dossier may carry several certificates: its copies go when the last one ends.
    cert_cutoff = _day_end(today - dt.timedelta(days=rules.after_certificate_end_days))
    ends: dict[int, dt.datetime] = {}
    rows = session.execute(
        sa.select(Certificate.dossier_id, Certificate.not_after, Certificate.revoked_at)
        .join(Dossier, Dossier.id == Certificate.dossier_id)
        .where(has_unpurged)
    )
    for dossier_id, not_after, revoked_at in rows:
        end = min(not_after, revoked_at) if revoked_at else not_after
        ends[dossier_id] = max(ends.get(dossier_id, end), end)
    due += [
        DueDossier(d, "certificate_ended", local_time(end).date())
        for d, end in sorted(ends.items())
        if end < cert_cutoff
    ]
    return due


# Statuses that mean a certificate was made: such a dossier is registration evidence.
CERTIFIED_STATUSES = (
    DossierStatus.CERTIFICATE_ISSUED.value,
    DossierStatus.DELIVERY_SCHEDULED.value,
    DossierStatus.DELIVERED.value,
)


def abandoned_dossiers(session: Session, *, today: dt.date, rules: RetentionRules) -> list[int]:
    """Dossiers that never led to a certificate and that nothing happened to (a revision, a
    transition, a decision, a signature event) for `abandoned_after_days`, not yet erased."""
    cutoff = _day_end(today - dt.timedelta(days=rules.abandoned_after_days))
    has_certificate = sa.select(Certificate.id).where(Certificate.dossier_id == Dossier.id)
    last_decision = (
        sa.select(sa.func.max(Decision.at)).where(Decision.dossier_id == Dossier.id)
    ).scalar_subquery()
    last_signature = (
        sa.select(sa.func.max(SignatureEvent.received_at)).where(
            SignatureEvent.dossier_id == Dossier.id
        )
    ).scalar_subquery()
    return list(
        session.scalars(
            sa.select(Dossier.id)
            .where(
                Dossier.personal_data_erased_at.is_(None),
                Dossier.status.not_in(CERTIFIED_STATUSES),
                ~has_certificate.exists(),
                Dossier.updated_at < cutoff,
                sa.or_(last_decision.is_(None), last_decision < cutoff),
                sa.or_(last_signature.is_(None), last_signature < cutoff),
            )
            .order_by(Dossier.id)
        )
    )


def erase_abandoned(
    session: Session, dossier_id: int, *, today: dt.date, rules: RetentionRules
) -> dict[str, int]:
    """Every piece of an abandoned dossier's contact and order data, each domain erasing
    its own; one audit entry with the counts (ids only)."""
    dossier = session.get(Dossier, dossier_id)
    if dossier is None or dossier.personal_data_erased_at is not None:
        return {}
    documents = mark_due(
        session,
        DueDossier(dossier_id, "abandoned", today, every_type=True),
        rules=rules,
    )
    counts = {"documents": len(documents)}
    counts |= erase_personal_data(session, dossier)
    counts["check_results"] = erase_check_evidence(session, dossier_id)
    counts["outbox_messages"] = erase_dossier_messages(session, dossier_id)
    record(
        session,
        "retention.dossier_erased",
        dossier=dossier,
        payload={"reason": "abandoned", "after_days": rules.abandoned_after_days} | counts,
    )
    return counts


def registration_evidence_kept(session: Session) -> dict[str, int]:
    """Dossiers whose registration evidence is kept (they led to a certificate), and the
    per-person evidence records (review/evidence.py, insert-only: no category erases them,
    an abandoned dossier's included)."""
    dossiers = session.scalar(sa.select(sa.func.count(sa.distinct(Certificate.dossier_id))))
    records = session.scalar(sa.select(sa.func.count(RegistrationEvidence.id)))
    return {"dossiers_kept": int(dossiers or 0), "evidence_records_kept": int(records or 0)}


def run_retention(
    session: Session, *, today: dt.date, rules: RetentionRules
) -> dict[str, dict[str, int]]:
    """Every category of rules/jobs.toml [retention.*] for `today`, in the caller's unit of
    work; the counts per category. The bytes of purged copies go after the commit
    (documents.retention.delete_blobs). The audit trail is appended to, never changed;
    no table this module does not name is touched."""
    due = due_dossiers(session, today=today, rules=rules)
    purged = sum(len(mark_due(session, item, rules=rules)) for item in due)
    abandoned: dict[str, int] = {"dossiers": 0}
    for dossier_id in abandoned_dossiers(session, today=today, rules=rules):
        counts = erase_abandoned(session, dossier_id, today=today, rules=rules)
        if counts:
            abandoned["dossiers"] += 1
            for key, value in counts.items():
                abandoned[key] = abandoned.get(key, 0) + value
    cutoff = _day_end(today - dt.timedelta(days=rules.outbox_bodies_after_days))
    return {
        "identity_copies": {"dossiers": len(due), "documents": purged},
        "registration_evidence": registration_evidence_kept(session),
        "abandoned_dossiers": abandoned,
        "outbox": {"bodies_shortened": shorten_bodies(session, created_before=cutoff)},
    }
