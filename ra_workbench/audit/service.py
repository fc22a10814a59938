"""Append entries to the audit trail, verify it, search it and export it.

There is deliberately no update or delete here (and the ORM refuses both: models.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from ra_workbench.audit.anchor import (
    AnchorPlace,
    FileAnchor,
    Mark,
    PlaceReading,
    PlaceSet,
    Seal,
    SealKind,
    place_for,
)
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
from ra_workbench.audit.seal import SealNotice, alert_notice, seal_notice
from ra_workbench.audit.timestamp import (
    TimestampCheck,
    TimestampError,
    request_timestamp,
    verify_timestamp,
)
from ra_workbench.db import utcnow

if TYPE_CHECKING:
    from ra_workbench.dossiers.models import Dossier

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
_CHAIN_LOCK_KEY = 7_311_532  # pg advisory lock id serialising appends
# session.info key: the head appended by the current transaction, anchored after commit.
PENDING_HEAD = "ra_audit_pending_head"


def _audit_key() -> str:
    if has_app_context():
        return str(current_app.config["RA_SETTINGS"].audit_key)
    raise RuntimeError("the audit trail needs an application context (for its key)")


def _data_anchor(data_dir: Path, key: str) -> FileAnchor:
    return FileAnchor(data_dir / "audit", key)


def anchor_store() -> FileAnchor:
    """The anchor in the data directory (always kept, whatever else is configured)."""
    settings = current_app.config["RA_SETTINGS"]
    return _data_anchor(Path(settings.data_dir), settings.audit_key)


def anchor_places() -> PlaceSet:
    """The data directory's anchor, then every place of RA_WORKBENCH_AUDIT_ANCHORS."""
    settings = current_app.config["RA_SETTINGS"]
    return _place_set(Path(settings.data_dir), settings.audit_key, tuple(settings.audit_anchors))


# record() asks at every entry: the places are built (paths resolved, URLs parsed) once per
# configuration, not on the write path.
@functools.lru_cache(maxsize=16)
def _place_set(data_dir: Path, key: str, specs: tuple[str, ...]) -> PlaceSet:
    default = _data_anchor(data_dir, key)
    places: list[AnchorPlace] = [default]
    seen = {str(default.directory.resolve())}
    for spec in specs:
        place = place_for(spec, key)
        name = str(place.directory.resolve()) if isinstance(place, FileAnchor) else place.label
        if name not in seen:
            seen.add(name)
            places.append(place)
    return PlaceSet(tuple(places))


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
        session.info[PENDING_HEAD] = (anchor_places(), genesis, seq, digest)
    return event


@sa.event.listens_for(Session, "after_commit")
def _anchor_after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING_HEAD, None)
    if pending is not None:
        places, genesis, seq, digest = pending
        places.advance(genesis, seq, digest)


@sa.event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(PENDING_HEAD, None)


# --- verification ----------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceSummary:
    place: str
    high_water: int | None  # highest entry this place attests for the current chain
    latest_seal_at: str | None


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    head_seq: int | None
    anchor_seq: int | None  # highest entry attested outside the database
    problem: ChainProblem | None  # the first of `problems`
    archived_anchors: int = 0  # heads of replaced chains kept by the places
    problems: tuple[ChainProblem, ...] = ()
    places: tuple[PlaceSummary, ...] = ()
    genesis: str | None = None
    head_hash: str | None = None
    # Problems that only say « this configured place holds nothing yet »: `audit seal
    # --init` may fill such a place from a chain every other place vouches for.
    unanchored: tuple[ChainProblem, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "anchor_seq": self.anchor_seq,
            "archived_anchors": self.archived_anchors,
            "problem": self.problem.to_json() if self.problem else None,
            "problems": [p.to_json() for p in self.problems],
            "places": [
                {"place": p.place, "high_water": p.high_water, "latest_seal_at": p.latest_seal_at}
                for p in self.places
            ],
        }


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


def _first_mismatch(walk: WalkResult, marks: Iterable[Mark]) -> ChainProblem | None:
    """The chain must reach, with the same hashes, every head a place attests; the
    highest is checked first (its message names the most entries)."""
    for mark in sorted(marks, key=lambda m: m.seq, reverse=True):
        problem = check_against_anchor(walk, mark.seq, mark.hash, mark.genesis, source=mark.source)
        if problem is not None:
            return problem
    return None


def _external_marks(seals: Sequence[Seal], key: str) -> tuple[list[Mark], list[ChainProblem]]:
    marks: list[Mark] = []
    problems: list[ChainProblem] = []
    for seal in seals:
        if not seal.valid(key):
            problems.append(
                ChainProblem(
                    seal.seq,
                    None,
                    ProblemKind.ALTERED,
                    f"sceau du {seal.at} (n°{seal.seq}) falsifié ou d'une autre installation : "
                    "MAC invalide",
                )
            )
            continue
        marks.append(Mark(f"le sceau du {seal.at}", seal.genesis, seal.seq, seal.hash))
    return marks, problems


def _timestamp_problems(readings: Sequence[PlaceReading]) -> list[ChainProblem]:
    """With RA_WORKBENCH_AUDIT_TSA_CA: the newest seal of each place, if time-stamped, must
    carry a TSA signature over exactly that seal. A seal goes to every place: each distinct
    one is checked once (two `openssl` runs)."""
    ca_file = current_app.config["RA_SETTINGS"].audit_tsa_ca_file
    if ca_file is None:
        return []
    problems = []
    checks: dict[Seal, TimestampCheck] = {}
    for reading in readings:
        seal = reading.latest_seal
        if seal is None or not seal.timestamp:
            continue
        if seal not in checks:
            checks[seal] = verify_timestamp(seal.timestamp_der(), seal.imprint(), Path(ca_file))
        check = checks[seal]
        if not check.ok:
            problems.append(
                ChainProblem(
                    seal.seq,
                    None,
                    ProblemKind.ALTERED,
                    f"horodatage RFC 3161 du sceau n°{seal.seq} ({reading.place}) invalide : "
                    f"{check.detail}",
                )
            )
    return problems


def verify(session: Session, *, progress: Any = None, seals: Sequence[Seal] = ()) -> VerifyReport:
    """Walk the whole chain, then compare it with every head attested outside the database:
    each place's head and seal log, and the seals given (kept by supervisors). Names every
    altered, inserted or deleted entry and every anchor missing or rolled back."""
    key = _audit_key()
    # Places first, the chain after: an anchor only attests committed entries, so the walk
    # (which starts later) sees at least what they attest.
    readings = [place.read() for place in anchor_places().places]
    external, problems = _external_marks(seals, key)
    marks = [mark for reading in readings for mark in reading.marks] + external
    entries: Iterator[AuditEvent] = iter_chain(session)
    if progress is not None:
        entries = progress(entries)
    walk: WalkResult = verify_entries(entries, key, watch_seqs={m.seq for m in marks})
    if walk.problem is not None:
        problems.insert(0, walk.problem)
    unanchored: list[ChainProblem] = []
    for reading in readings:
        if walk.problem is None:
            if walk.entries and reading.empty:
                missing = ChainProblem(
                    None,
                    None,
                    ProblemKind.ANCHOR_MISSING,
                    f"aucune ancre dans {reading.place} alors que le journal compte "
                    f"{walk.entries} entrée(s) : ancre et registre des sceaux supprimés "
                    "(ou lieu configuré depuis le dernier enregistrement)",
                )
                problems.append(missing)
                unanchored.append(missing)
            found = _first_mismatch(walk, reading.marks)
            if found is not None:
                problems.append(found)
        problems.extend(reading.problems)
    if walk.problem is None:
        for mark in external:
            found = _first_mismatch(walk, [mark])
            if found is not None:
                problems.append(found)
    problems.extend(_timestamp_problems(readings))
    high = max((m.seq for m in marks), default=None)
    return VerifyReport(
        entries=walk.entries,
        head_seq=walk.head.seq if walk.head else None,
        anchor_seq=high,
        problem=problems[0] if problems else None,
        archived_anchors=sum(r.replaced_chains for r in readings),
        problems=tuple(problems),
        places=tuple(
            PlaceSummary(
                r.place, r.high_water, r.latest_seal.at if r.latest_seal is not None else None
            )
            for r in readings
        ),
        genesis=walk.genesis,
        head_hash=walk.head.hash if walk.head else None,
        unanchored=tuple(unanchored),
    )


# --- sealing ---------------------------------------------------------------------------

# How a seal notice leaves: (session, recipient, notice, dedup key). The audit trail sits
# below notify and sends nothing itself: a shell tells it how (the app factory registers the
# notify outbox), as the job queue tells the unit of work how to dispatch.
Mailer = Callable[[Session, str, SealNotice, str], None]
_seal_mailers: list[Mailer] = []


def send_seals_with(mailer: Mailer) -> None:
    """Register how seal notices and alerts reach the supervisors (idempotent)."""
    if mailer not in _seal_mailers:
        _seal_mailers.append(mailer)


@dataclass(frozen=True)
class SealOutcome:
    report: VerifyReport
    seal: Seal | None  # None: refused (trail altered) or nothing to seal (empty trail)
    notice: SealNotice | None
    places: tuple[str, ...] = ()
    failed_places: tuple[str, ...] = ()
    timestamp_note: str = ""
    recipients: tuple[str, ...] = ()
    refused: bool = False  # the trail did not verify: nothing sealed, alert sent


def seal_head(
    session: Session,
    *,
    now: dt.datetime | None = None,
    mailer: Mailer | None = None,
    initialise_empty_places: bool = False,
    progress: Any = None,
) -> SealOutcome:
    """Verify the trail, then seal its head: a signed record appended to every place's seal
    log, time-stamped by the TSA when one is configured, an `audit.sealed` entry, and the
    signed notice handed to the mailer (`mailer`, else those registered with
    `send_seals_with`) for each supervisor. An altered trail is not sealed: the supervisors
    get an alert instead. Flushes; the caller commits."""
    settings = current_app.config["RA_SETTINGS"]
    recipients = tuple(settings.audit_seal_recipients)
    mailers = [mailer] if mailer is not None else list(_seal_mailers)
    if recipients and not mailers:
        log.warning("audit seal: no mailer registered, the supervisors will not be told")

    def send(notice: SealNotice, dedup: str) -> None:
        for recipient in recipients:
            for deliver in mailers:
                deliver(session, recipient, notice, f"{dedup}:{recipient}")

    report = verify(session, progress=progress)
    vouched = any(place.high_water is not None for place in report.places)
    blocking = [
        p
        for p in report.problems
        if not (initialise_empty_places and vouched and p in report.unanchored)
    ]
    stamp = (now or utcnow()).astimezone(dt.UTC)
    if blocking:
        notice = alert_notice(report.problems, report.entries)
        log.error("audit seal refused: %s", "; ".join(p.message for p in report.problems))
        send(notice, f"audit-alert:{stamp.isoformat()}")
        return SealOutcome(report, None, notice, recipients=recipients, refused=True)
    if report.head_seq is None or report.genesis is None or report.head_hash is None:
        return SealOutcome(report, None, None, recipients=recipients)
    seal = Seal.make(
        settings.audit_key,
        SealKind.SEAL,
        report.genesis,
        report.head_seq,
        report.head_hash,
        stamp,
    )
    timestamp_note = "non demandé (RA_WORKBENCH_AUDIT_TSA_URL non défini)"
    if settings.audit_tsa_url:
        try:
            seal = seal.with_timestamp(request_timestamp(settings.audit_tsa_url, seal.imprint()))
            timestamp_note = f"accordé par {settings.audit_tsa_url}"
        except TimestampError as exc:
            log.warning("audit seal: no time-stamp: %s", exc)
            timestamp_note = f"échec : {exc}"
    places = anchor_places()
    # A place configured since the last commit starts at the verified head.
    places.advance(seal.genesis, seal.seq, seal.hash)
    failed = tuple(places.append_seal(seal))
    written = tuple(p.label for p in places.places if p.label not in failed)
    record(
        session,
        "audit.sealed",
        payload={
            "seq": seal.seq,
            "hash": seal.hash,
            "genesis": seal.genesis,
            "at": seal.at,
            "places": list(written),
            "failed_places": list(failed),
            "timestamped": bool(seal.timestamp),
            "recipients": list(recipients),
        },
    )
    notice = seal_notice(seal, places=written, timestamp_note=timestamp_note, failed_places=failed)
    send(notice, f"audit-seal:{seal.at}")
    return SealOutcome(report, seal, notice, written, failed, timestamp_note, recipients)


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
