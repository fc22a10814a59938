"""Operators' decisions and the supervisors' quality review of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ra_workbench.accounts.models import User
from ra_workbench.db import Base, CreatedAt, UTCDateTime, intpk


class DecisionKind:
    APPROVE = "approve"
    REQUEST_DOCUMENTS = "request_documents"
    REJECT = "reject"
    OVERRIDE_REQUEST = "override_request"
    SECOND_APPROVAL = "second_approval"
    OVERRIDE_REFUSED = "override_refused"


DECISION_LABELS_FR = {
    DecisionKind.APPROVE: "Validation",
    DecisionKind.REQUEST_DOCUMENTS: "Demande de pièces",
    DecisionKind.REJECT: "Refus",
    DecisionKind.OVERRIDE_REQUEST: "Demande de dérogation",
    DecisionKind.SECOND_APPROVAL: "Dérogation secondée",
    DecisionKind.OVERRIDE_REFUSED: "Dérogation refusée",
}


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


class RegistrationEvidence(Base):
    """What was checked for one person at one decision (EN 319 411-1 REG-6.4.5-04,
    REG-6.2.2-06/-18, REG-6.3.4-07/-08): written when the dossier is approved or an override
    seconded, never rewritten (a later decision writes new rows). Every value is copied, not
    referenced, so the record outlives the identity copies and the extraction cache."""

    __tablename__ = "registration_evidence"
    __table_args__ = (sa.UniqueConstraint("decision_id", "person_role"),)

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("decisions.id"), index=True)
    person_role: Mapped[str] = mapped_column(sa.String(32))
    # As on the identity document (MRZ), else as declared (then `name_source` says so).
    full_name: Mapped[str] = mapped_column(sa.String(300))
    name_source: Mapped[str] = mapped_column(sa.String(16))  # mrz | declared
    birth_date: Mapped[dt.date | None]
    document_type: Mapped[str] = mapped_column(sa.String(32), default="")
    document_number: Mapped[str] = mapped_column(sa.String(64), default="")
    issuing_state: Mapped[str] = mapped_column(sa.String(8), default="")
    expiry_date: Mapped[dt.date | None]
    # How the document was validated: MRZ check digits, GoSign evidence id and time (the
    # signature event), the operator's visual checks (confirmed manual results).
    validation: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    accepted_by: Mapped[str] = mapped_column(sa.String(254))
    check_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("check_runs.id"))
    rules_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    documents: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)  # id, type, side, sha256
    decided_by: Mapped[str] = mapped_column(sa.String(254))
    seconded_by: Mapped[str | None] = mapped_column(sa.String(254))
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[CreatedAt]


class EvidenceIsInsertOnly(RuntimeError):
    """A registration evidence row was about to be changed or deleted."""


@sa.event.listens_for(RegistrationEvidence, "before_update")
@sa.event.listens_for(RegistrationEvidence, "before_delete")
def _refuse_rewrite(*_args: Any) -> None:
    raise EvidenceIsInsertOnly("registration evidence is insert-only")


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


# Indexes the validation queue relies on at 100,000 dossiers (scripts/bench_queue.py).
# Declared here, with the queue that needs them, on the tables they serve.
from ra_workbench.checks.models import CheckResult, CheckRun  # noqa: E402
from ra_workbench.dossiers.models import Dossier, Organisation, Person  # noqa: E402

# A tab lists pending dossiers of one verdict, oldest first.
sa.Index("ix_dossiers_queue", Dossier.status, Dossier.verdict, Dossier.submitted_at)
# "Failing rule" filter: the results of one rule and outcome, then their run's dossier.
sa.Index(
    "ix_check_results_rule_outcome_run", CheckResult.rule, CheckResult.outcome, CheckResult.run_id
)
# The latest run of a dossier.
sa.Index("ix_check_runs_dossier_latest", CheckRun.dossier_id, CheckRun.id)

# Search "contains" (ILIKE '%term%') on names: trigram GIN indexes on PostgreSQL (plain
# indexes elsewhere). The migration must run `CREATE EXTENSION IF NOT EXISTS pg_trgm`
# first; create_all() does it through the listener below.
TRIGRAM_INDEXES = (
    sa.Index(
        "ix_organisations_name_trgm",
        Organisation.name,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    ),
    sa.Index(
        "ix_people_last_name_trgm",
        Person.last_name,
        postgresql_using="gin",
        postgresql_ops={"last_name": "gin_trgm_ops"},
    ),
    sa.Index(
        "ix_people_first_name_trgm",
        Person.first_name,
        postgresql_using="gin",
        postgresql_ops={"first_name": "gin_trgm_ops"},
    ),
)
CREATE_TRIGRAM_EXTENSION = sa.DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm")
for _table in (Organisation.__table__, Person.__table__):
    sa.event.listen(
        _table, "before_create", CREATE_TRIGRAM_EXTENSION.execute_if(dialect="postgresql")
    )


class DossierNote(Base):
    """An internal note on a dossier, between staff (never shown to the customer): the
    thread on the dossier page; every note is in the audit trail too."""

    __tablename__ = "dossier_notes"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[CreatedAt]
    body: Mapped[str] = mapped_column(sa.Text)

    author: Mapped[User] = relationship()
