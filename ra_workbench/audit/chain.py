"""Pure hash-chain maths for the audit trail: canonical form, entry hash, keyed MAC."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64


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


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    entry_id: int | None
    kind: str  # altered | inserted | deleted | bad_mac
    message: str


def verify_entries(entries: list[Any], key: str) -> ChainProblem | None:
    """Walk entries in seq order; name the first altered, inserted or deleted one."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    for entry in entries:
        recomputed = entry_hash(
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
        if recomputed != entry.hash:
            return ChainProblem(
                entry.seq, entry.id, "altered", f"entrée n°{entry.seq} modifiée (empreinte fausse)"
            )
        if not hmac.compare_digest(entry_mac(key, entry.hash), entry.mac):
            return ChainProblem(
                entry.seq,
                entry.id,
                "inserted",
                f"entrée n°{entry.seq} écrite hors de l'application (MAC invalide)",
            )
        if entry.prev_hash != prev_hash or entry.seq != expected_seq:
            if entry.seq > expected_seq:
                return ChainProblem(
                    expected_seq,
                    entry.id,
                    "deleted",
                    f"entrée(s) supprimée(s) entre n°{expected_seq - 1} et n°{entry.seq}",
                )
            return ChainProblem(
                entry.seq,
                entry.id,
                "inserted",
                f"entrée n°{entry.seq} insérée : chaînage rompu",
            )
        prev_hash = entry.hash
        expected_seq += 1
    return None
