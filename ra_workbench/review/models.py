"""Operators' decisions and the supervisors' quality review of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ra_workbench.accounts.models import User
from ra_workbench.db import Base, CreatedAt, intpk


class DecisionKind:
    APPROVE = "approve"
    REQUEST_DOCUMENTS = "request_documents"
    REJECT = "reject"
    OVERRIDE_REQUEST = "override_request"
    SECOND_APPROVAL = "second_approval"
    OVERRIDE_REFUSED = "override_refused"


class Decision(Base):
    __tablename__ = "decisions"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    at: Mapped[CreatedAt]
    check_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("check_runs.id"))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    reasons: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    # Manual results the operator confirmed ({rule: comment}) and failures overridden.
    confirmations: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    overridden_rules: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    # A second approval points at the override request it seconds.
    seconds_decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("decisions.id"))

    actor: Mapped[User] = relationship(foreign_keys=[actor_id])


class QualityReview(Base):
    """A sampled approval a supervisor re-reads: agree or disagree, with a comment."""

    __tablename__ = "quality_reviews"

    id: Mapped[intpk]
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("decisions.id"), unique=True)
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    sampled_at: Mapped[CreatedAt]
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None]
    agrees: Mapped[bool | None]
    comment: Mapped[str] = mapped_column(sa.Text, default="")
