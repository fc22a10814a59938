"""Check runs and their results: what the rules said about a dossier, and on what basis."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ra_workbench.db import Base, CreatedAt, intpk


class CheckRun(Base):
    __tablename__ = "check_runs"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    revision: Mapped[int]
    evaluation_date: Mapped[dt.date]
    rules_hash: Mapped[str] = mapped_column(sa.String(64))
    extractor_version: Mapped[str] = mapped_column(sa.String(32))
    verdict: Mapped[str] = mapped_column(sa.String(32))
    trigger: Mapped[str] = mapped_column(sa.String(32), default="manual")
    # Fingerprint of every input (facts, rules, date): equal fingerprints give equal results.
    inputs_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[CreatedAt]

    results: Mapped[list[CheckResult]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="CheckResult.id"
    )


class CheckResult(Base):
    __tablename__ = "check_results"

    id: Mapped[intpk]
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("check_runs.id"), index=True)
    rule: Mapped[str] = mapped_column(sa.String(64), index=True)
    outcome: Mapped[str] = mapped_column(sa.String(16), index=True)
    message: Mapped[str] = mapped_column(sa.Text)
    person_role: Mapped[str | None] = mapped_column(sa.String(32))
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))
    evidence: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    run: Mapped[CheckRun] = relationship(back_populates="results")
