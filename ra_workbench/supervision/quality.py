"""Quality review: a random sample of approvals re-read by a supervisor.

The draw is a keyed hash of the decision id compared with the configured rate: operators
cannot predict it (the key is the application's secret), and drawing again selects the
same approvals, so the daily sampling job is idempotent without remembering what it
looked at. Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from ra_workbench.accounts.models import User
from ra_workbench.audit.service import record
from ra_workbench.db import utcnow
from ra_workbench.dossiers.models import Dossier
from ra_workbench.review.models import Decision, DecisionKind, QualityReview

APPROVAL_KINDS = (DecisionKind.APPROVE, DecisionKind.SECOND_APPROVAL)
MIN_DISAGREEMENT_COMMENT = 10


class QualityReviewError(Exception):
    """The review cannot be recorded as asked (message in French)."""


def drawn(key: str, decision_id: int, rate: float) -> bool:
    digest = hmac.new(key.encode(), f"quality-review:{decision_id}".encode(), hashlib.sha256)
    return int(digest.hexdigest()[:16], 16) / 16**16 < rate


def sample_approvals(
    session: Session, *, key: str, rate: float, since: dt.datetime
) -> list[QualityReview]:
    """Put the drawn approvals made since `since` in the review list (once each)."""
    candidates = session.execute(
        sa.select(Decision.id, Decision.dossier_id)
        .outerjoin(QualityReview, QualityReview.decision_id == Decision.id)
        .where(
            Decision.kind.in_(APPROVAL_KINDS),
            Decision.at >= since,
            QualityReview.id.is_(None),
        )
        .order_by(Decision.id)
    ).all()
    sampled: list[QualityReview] = []
    for decision_id, dossier_id in candidates:
        if not drawn(key, decision_id, rate):
            continue
        review = QualityReview(decision_id=decision_id, dossier_id=dossier_id, sampled_at=utcnow())
        session.add(review)
        sampled.append(review)
    if sampled:
        session.flush()
        record(
            session,
            "quality.sampled",
            payload={
                "rate": rate,
                "since": since.isoformat(),
                "decision_ids": [r.decision_id for r in sampled],
            },
        )
    return sampled


def record_review(
    session: Session, review_id: int, reviewer: User, *, agrees: bool, comment: str
) -> QualityReview:
    review = session.get(QualityReview, review_id, with_for_update=True)
    if review is None:
        raise QualityReviewError("Revue inconnue.")
    if review.reviewed_at is not None:
        raise QualityReviewError("Cette décision a déjà été revue.")
    decision = session.get(Decision, review.decision_id)
    if decision is None:  # pragma: no cover - foreign key
        raise QualityReviewError("Décision introuvable.")
    if decision.actor_id == reviewer.id:
        raise QualityReviewError("Vous ne pouvez pas revoir votre propre décision.")
    comment = comment.strip()
    if not agrees and len(comment) < MIN_DISAGREEMENT_COMMENT:
        raise QualityReviewError(
            f"Un désaccord doit être expliqué (au moins {MIN_DISAGREEMENT_COMMENT} caractères)."
        )
    review.reviewer_id = reviewer.id
    review.reviewed_at = utcnow()
    review.agrees = agrees
    review.comment = comment
    dossier = session.get(Dossier, review.dossier_id)
    record(
        session,
        "quality.reviewed",
        actor=reviewer.email,
        actor_id=reviewer.id,
        dossier=dossier,
        payload={
            "review_id": review.id,
            "decision_id": decision.id,
            "operator_id": decision.actor_id,
            "agrees": agrees,
            "comment": comment,
        },
    )
    session.flush()
    return review


@dataclass(frozen=True)
class ReviewRow:
    review: QualityReview
    order_number: str
    operator: str
    decided_at: dt.datetime
    reviewer: str | None


def review_list(session: Session, *, open_only: bool = True, limit: int = 200) -> list[ReviewRow]:
    operator = aliased(User)
    reviewer = aliased(User)
    query = (
        sa.select(QualityReview, Dossier.order_number, operator, Decision.at, reviewer)
        .join(Decision, Decision.id == QualityReview.decision_id)
        .join(Dossier, Dossier.id == QualityReview.dossier_id)
        .join(operator, operator.id == Decision.actor_id)
        .outerjoin(reviewer, reviewer.id == QualityReview.reviewer_id)
        .order_by(QualityReview.id.desc())
        .limit(limit)
    )
    if open_only:
        query = query.where(QualityReview.reviewed_at.is_(None))
    else:
        query = query.where(QualityReview.reviewed_at.is_not(None))
    return [
        ReviewRow(r, number, op.display_name, at, rev.display_name if rev else None)
        for r, number, op, at, rev in session.execute(query)
    ]


@dataclass(frozen=True)
class OperatorAgreement:
    operator: str
    reviewed: int
    disagreements: int

    @property
    def rate(self) -> float:
        return self.disagreements / self.reviewed if self.reviewed else 0.0


def disagreement_rates(session: Session) -> list[OperatorAgreement]:
    rows = session.execute(
        sa.select(
            User,
            sa.func.count(QualityReview.id),
            sa.func.sum(sa.case((QualityReview.agrees.is_(False), 1), else_=0)),
        )
        .join(Decision, Decision.actor_id == User.id)
        .join(QualityReview, QualityReview.decision_id == Decision.id)
        .where(QualityReview.reviewed_at.is_not(None))
        .group_by(User.id)
    )
    result = [
        OperatorAgreement(user.display_name, int(count), int(disagreed or 0))
        for user, count, disagreed in rows
    ]
    return sorted(result, key=lambda r: (-r.rate, r.operator))
