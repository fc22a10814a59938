"""Append entries to the audit trail, verify it, search it and export it.

There is deliberately no update or delete here (and the ORM refuses both: models.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from ra_workbench.audit.anchor import Anchor, AnchorError, AnchorStore
from ra_workbench.audit.chain import (
    GENESIS_HASH,
    ChainProblem,
    ProblemKind,
    WalkResult,
    canonical_payload,
    check_against_anchor,
    entry_hash,
    entry_mac,
    verify_entries,
)
from ra_workbench.audit.models import AuditEvent
from ra_workbench.db import utcnow

if TYPE_CHECKING:
    from ra_workbench.dossiers.models import Dossier

SYSTEM_ACTOR = "system"
_CHAIN_LOCK_KEY = 7_311_532  # pg advisory lock id serialising appends
# session.info key: the head appended by the current transaction, anchored after commit.
PENDING_HEAD = "ra_audit_pending_head"


def _audit_key() -> str:
    if has_app_context():
        return str(current_app.config["RA_SETTINGS"].audit_key)
    raise RuntimeError("the audit trail needs an application context (for its key)")


def anchor_store() -> AnchorStore:
    settings = current_app.config["RA_SETTINGS"]
    return AnchorStore(Path(settings.data_dir) / "audit", settings.audit_key)


def record(
    session: Session,
    event_type: str,
    *,
    actor: str = SYSTEM_ACTOR,
    actor_id: int | None = None,
    dossier: Dossier | None = None,
    dossier_id: int | None = None,
    order_number: str | None = None,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry, chained to the previous one. Flushes; the caller commits."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_CHAIN_LOCK_KEY)))
    if dossier is not None:
        if dossier.id is None:
            session.flush()
        dossier_id = dossier.id
        order_number = dossier.order_number
    last = session.execute(
        sa.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq = (last.seq + 1) if last else 1
    prev_hash = last.hash if last else GENESIS_HASH
    at = utcnow()
    body = canonical_payload(payload)
    digest = entry_hash(
        seq=seq,
        at=at,
        actor=actor,
        actor_id=actor_id,
        event_type=event_type,
        dossier_id=dossier_id,
        order_number=order_number,
        payload=body,
        prev_hash=prev_hash,
    )
    key = _audit_key()
    event = AuditEvent(
        seq=seq,
        at=at,
        actor=actor,
        actor_id=actor_id,
        event_type=event_type,
        dossier_id=dossier_id,
        order_number=order_number,
        payload=body,
        prev_hash=prev_hash,
        hash=digest,
        mac=entry_mac(key, digest),
    )
    session.add(event)
    session.flush()
    genesis = (
        digest
        if seq == 1
        else session.scalar(sa.select(AuditEvent.hash).where(AuditEvent.seq == 1))
    )
    if genesis:
        session.info[PENDING_HEAD] = (anchor_store(), genesis, seq, digest)
    return event


@sa.event.listens_for(Session, "after_commit")
def _anchor_after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING_HEAD, None)
    if pending is not None:
        store, genesis, seq, digest = pending
        store.advance(genesis, seq, digest)


@sa.event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(PENDING_HEAD, None)


# --- verification ----------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    head_seq: int | None
    anchor_seq: int | None
    problem: ChainProblem | None
    archived_anchors: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["ok"] = self.ok
        body["problem"] = self.problem.to_json() if self.problem else None
        return body


def iter_chain(session: Session, batch: int = 2000) -> Iterator[AuditEvent]:
    """Entries in seq order, a batch at a time (the trail grows without bound)."""
    last_seq = 0
    while True:
        rows = list(
            session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.seq > last_seq)
                .order_by(AuditEvent.seq)
                .limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last_seq = rows[-1].seq
        # Keep memory flat over millions of entries: the walk never goes back.
        for row in rows:
            session.expunge(row)


def verify(session: Session, *, progress: Any = None) -> VerifyReport:
    """Walk the whole chain, then compare its head with the anchor kept outside the
    database. Names the first altered, inserted or deleted entry."""
    store = anchor_store()
    anchor: Anchor | None
    try:
        anchor = store.read()
    except AnchorError as exc:
        return VerifyReport(0, None, None, ChainProblem(None, None, ProblemKind.ALTERED, str(exc)))
    entries: Iterator[AuditEvent] = iter_chain(session)
    if progress is not None:
        entries = progress(entries)
    walk: WalkResult = verify_entries(
        entries, _audit_key(), watch_seq=anchor.seq if anchor else None
    )
    problem = walk.problem
    if problem is None and anchor is not None:
        problem = check_against_anchor(walk, anchor.seq, anchor.hash, anchor.genesis)
    return VerifyReport(
        entries=walk.entries,
        head_seq=walk.head.seq if walk.head else None,
        anchor_seq=anchor.seq if anchor else None,
        problem=problem,
        archived_anchors=len(store.archived()),
    )


def count_entries(session: Session) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) or 0)


# --- search and export -----------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    order_number: str = ""
    actor: str = ""
    event_type: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "order_number": self.order_number,
            "actor": self.actor,
            "event_type": self.event_type,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _conditions(filters: AuditFilters) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.order_number.strip():
        conditions.append(AuditEvent.order_number == filters.order_number.strip())
    if filters.actor.strip():
        term = filters.actor.strip().lower().replace("\\", "\\\\")
        term = term.replace("%", "\\%").replace("_", "\\_")
        conditions.append(sa.func.lower(AuditEvent.actor).like(f"%{term}%", escape="\\"))
    if filters.event_type.strip():
        kind = filters.event_type.strip()
        if kind.endswith("."):  # a whole family: "checks.", "auth."
            conditions.append(AuditEvent.event_type.startswith(kind, autoescape=True))
        else:
            conditions.append(AuditEvent.event_type == kind)
    # Periods are whole UTC days, both ends included (the audit clock is UTC).
    if filters.since:
        conditions.append(AuditEvent.at >= _day_start(filters.since))
    if filters.until:
        conditions.append(AuditEvent.at < _day_start(filters.until + dt.timedelta(days=1)))
    return conditions


@dataclass
class AuditPage:
    rows: list[AuditEvent]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search(
    session: Session, filters: AuditFilters, *, page: int = 1, per_page: int = 50
) -> AuditPage:
    """Newest first."""
    conditions = _conditions(filters)
    total = int(
        session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(*conditions)) or 0
    )
    page = max(1, page)
    rows = list(
        session.scalars(
            sa.select(AuditEvent)
            .where(*conditions)
            .order_by(AuditEvent.seq.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return AuditPage(rows, total, page, per_page)


def event_types(session: Session) -> list[str]:
    return list(
        session.scalars(sa.select(AuditEvent.event_type).distinct().order_by(AuditEvent.event_type))
    )


CSV_COLUMNS = (
    "seq",
    "at",
    "actor",
    "actor_id",
    "event_type",
    "order_number",
    "dossier_id",
    "payload",
    "prev_hash",
    "hash",
)


def _cell(value: Any) -> str:
    """Spreadsheet-safe text: a cell starting with = + - @ would be run as a formula
    (an attempted login e-mail is attacker-chosen and lands in `actor`)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def export_rows(session: Session, filters: AuditFilters, batch: int = 2000) -> Iterator[list[str]]:
    """CSV rows (header first), oldest first, read in batches by seq."""
    yield list(CSV_COLUMNS)
    conditions = _conditions(filters)
    last_seq = 0
    while True:
        rows = list(
            session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.seq > last_seq, *conditions)
                .order_by(AuditEvent.seq)
                .limit(batch)
            )
        )
        if not rows:
            return
        for e in rows:
            yield [
                str(e.seq),
                e.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
                _cell(e.actor),
                "" if e.actor_id is None else str(e.actor_id),
                _cell(e.event_type),
                _cell(e.order_number),
                "" if e.dossier_id is None else str(e.dossier_id),
                json.dumps(e.payload, ensure_ascii=False, sort_keys=True),
                e.prev_hash,
                e.hash,
            ]
            session.expunge(e)
        last_seq = rows[-1].seq


def csv_chunks(rows: Iterator[list[str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
