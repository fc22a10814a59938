"""When the identity copies behind a dossier may go: the certificate they supported ended
(expiry or revocation) a configured time ago, or the dossier was rejected. The purge itself
is ra_workbench/documents/retention.py."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.certificates.models import Certificate
from ra_workbench.documents.models import Document
from ra_workbench.documents.retention import DueDossier
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.jobs.rules import RetentionRules
from ra_workbench.review.models import Decision, DecisionKind


def _day_end(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)


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
    due += [DueDossier(d, "rejected", at.date()) for d, at in rejected]
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
        DueDossier(d, "certificate_ended", end.date())
        for d, end in sorted(ends.items())
        if end < cert_cutoff
    ]
    return due
