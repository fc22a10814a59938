"""Pure hash-chain maths for the audit trail: canonical form, entry hash, keyed MAC, and the
walk that names the first altered, inserted or deleted entry.

Each entry's hash covers its content and the previous entry's hash, so changing, removing
or adding a row breaks the chain from that point on. The hash alone is public maths: an
attacker with write access to the database could recompute it. The keyed MAC (the key
lives in the data directory or the environment, never in the database) is what proves
an entry was written by the application. What neither can show is that the most recent
entries were removed: the chain just ends earlier. The head anchors and seal logs
(audit/anchor.py), kept outside the database, close that gap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

GENESIS_HASH = "0" * 64


class ChainEntry(Protocol):
    """What the walk reads from an entry (an AuditEvent row, or a test double)."""

    id: int
    seq: int
    at: dt.datetime
    actor: str
    actor_id: int | None
    event_type: str
    dossier_id: int | None
    order_number: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    mac: str


def canonical_payload(payload: dict[str, Any] | None) -> dict[str, Any]:
    """JSON round trip so the stored payload is exactly what was hashed."""
    result: dict[str, Any] = json.loads(
        json.dumps(payload or {}, default=str, sort_keys=True, ensure_ascii=False)
    )
    return result


def entry_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor: str,
    actor_id: int | None,
    event_type: str,
    dossier_id: int | None,
    order_number: str | None,
    payload: dict[str, Any],
    prev_hash: str,
) -> str:
    body = {
        "seq": seq,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "actor_id": actor_id,
        "event_type": event_type,
        "dossier_id": dossier_id,
        "order_number": order_number,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


def entry_mac(key: str, digest: str) -> str:
    return hmac.new(key.encode(), digest.encode(), hashlib.sha256).hexdigest()


def recompute(entry: ChainEntry) -> str:
    return entry_hash(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        actor_id=entry.actor_id,
        event_type=entry.event_type,
        dossier_id=entry.dossier_id,
        order_number=entry.order_number,
        payload=entry.payload,
        prev_hash=entry.prev_hash,
    )


class ProblemKind:
    ALTERED = "altered"  # content changed after it was written
    INSERTED = "inserted"  # written outside the application (no valid MAC)
    DELETED = "deleted"  # one or more entries missing (gap, or below the head anchor)
    ANCHOR_MISSING = "anchor_missing"  # entries exist, an anchor that should attest them is gone
    ANCHOR_ROLLED_BACK = "anchor_rolled_back"  # an anchor older than what its place has seen
    ANCHOR_UNREACHABLE = "anchor_unreachable"  # a configured place could not be read


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    entry_id: int | None
    kind: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "entry_id": self.entry_id,
            "kind": self.kind,
            "message": self.message,
        }


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str


@dataclass(frozen=True)
class WalkResult:
    entries: int
    problem: ChainProblem | None
    head: ChainHead | None
    genesis: str | None  # hash of entry n°1: identifies this chain
    # Hashes of the entries at `watch_seqs`: every head an anchor or a seal attests.
    watched: dict[int, str] = field(default_factory=dict)


def _check_entry(entry: ChainEntry, key: str) -> ChainProblem | None:
    """The entry on its own: is its content what was hashed, and did we write it?"""
    mac_ok = hmac.compare_digest(entry_mac(key, entry.hash), entry.mac)
    if recompute(entry) != entry.hash:
        if mac_ok:
            return ChainProblem(
                entry.seq,
                entry.id,
                ProblemKind.ALTERED,
                f"entrée n°{entry.seq} modifiée après écriture (le contenu ne correspond "
                "plus à son empreinte)",
            )
        return ChainProblem(
            entry.seq,
            entry.id,
            ProblemKind.ALTERED,
            f"entrée n°{entry.seq} modifiée (empreinte et MAC invalides)",
        )
    if not mac_ok:
        # A consistent hash without our MAC: a row written (or rewritten with a recomputed
        # hash) by someone who does not hold the key.
        return ChainProblem(
            entry.seq,
            entry.id,
            ProblemKind.INSERTED,
            f"entrée n°{entry.seq} écrite hors de l'application (MAC invalide) : "
            "insérée, ou réécrite avec une empreinte recalculée",
        )
    return None


def verify_entries(
    entries: Iterable[ChainEntry],
    key: str,
    *,
    watch_seqs: Collection[int] = (),
) -> WalkResult:
    """Walk entries in seq order; stop at the first altered, inserted or deleted one.
    Remembers the hashes of entries `watch_seqs` for the comparison with the heads
    attested outside the database."""
    wanted = set(watch_seqs)
    watched: dict[int, str] = {}
    prev_hash = GENESIS_HASH
    expected_seq = 1
    count = 0
    genesis: str | None = None
    head: ChainHead | None = None
    for entry in entries:
        count += 1
        problem = _check_entry(entry, key)
        if problem is None and (entry.prev_hash != prev_hash or entry.seq != expected_seq):
            if entry.seq > expected_seq and entry.prev_hash != prev_hash:
                first_missing = expected_seq
                last_missing = entry.seq - 1
                span = (
                    f"n°{first_missing}"
                    if first_missing == last_missing
                    else f"n°{first_missing} à n°{last_missing}"
                )
                problem = ChainProblem(
                    first_missing,
                    entry.id,
                    ProblemKind.DELETED,
                    f"entrée(s) {span} supprimée(s) : la chaîne reprend à n°{entry.seq}",
                )
            else:
                problem = ChainProblem(
                    entry.seq,
                    entry.id,
                    ProblemKind.INSERTED,
                    f"entrée n°{entry.seq} insérée : elle ne suit pas "
                    f"l'entrée n°{expected_seq - 1}",
                )
        if problem is not None:
            return WalkResult(count, problem, head, genesis, watched)
        if entry.seq in wanted:
            watched[entry.seq] = entry.hash
        if entry.seq == 1:
            genesis = entry.hash
        head = ChainHead(entry.seq, entry.hash)
        prev_hash = entry.hash
        expected_seq += 1
    return WalkResult(count, None, head, genesis, watched)


def check_against_anchor(
    walk: WalkResult,
    anchor_seq: int,
    anchor_hash: str,
    anchor_genesis: str,
    *,
    source: str = "l'ancre externe",
) -> ChainProblem | None:
    """Compare a clean walk with a head recorded outside the database (`source` names
    where, in the message).

    The anchor only ever moves forward, so a chain shorter than the anchor lost its last
    entries; an entry at the anchor's position with another hash was replaced. A longer
    chain is fine (the anchor lags behind appends made elsewhere)."""
    if walk.problem is not None:
        return walk.problem
    if walk.head is None or walk.genesis != anchor_genesis:
        if walk.head is None:
            gone = (
                "entrée n°1 supprimée"
                if anchor_seq == 1
                else f"entrées n°1 à n°{anchor_seq} supprimées"
            )
            return ChainProblem(
                1,
                None,
                ProblemKind.DELETED,
                f"journal vide alors que {source} atteste {anchor_seq} entrée(s) : {gone}",
            )
        return ChainProblem(
            1,
            None,
            ProblemKind.ALTERED,
            f"l'entrée n°1 n'est pas celle de la chaîne attestée par {source} : journal remplacé",
        )
    if walk.head.seq < anchor_seq:
        first = walk.head.seq + 1
        span = f"n°{first}" if first == anchor_seq else f"n°{first} à n°{anchor_seq}"
        return ChainProblem(
            first,
            None,
            ProblemKind.DELETED,
            f"dernière(s) entrée(s) {span} supprimée(s) : {source} atteste "
            f"n°{anchor_seq}, le journal s'arrête à n°{walk.head.seq}",
        )
    if walk.watched.get(anchor_seq) != anchor_hash:
        return ChainProblem(
            anchor_seq,
            None,
            ProblemKind.ALTERED,
            f"entrée n°{anchor_seq} différente de celle attestée par {source} : "
            "les entrées suivantes ont été supprimées puis réécrites",
        )
    return None
