"""One evidence record per person (EN 319 411-1 REG-6.4.5-04; REQUIREMENTS 2, 3, 10).

Written at the decision that commits the RA — an approval, or a supervisor seconding an
override — from what the decision stood on: the check run, the identity document as read
(the MRZ in the extraction cache), the GoSign signature event, the operator's visual checks.
Every value is copied into the row, never referenced, so the record still reads the same once
the identity copies and the extraction cache are purged. Rows are never updated nor deleted
(`RegistrationEvidence` refuses it); a later decision writes new rows.

The export for auditors is JSON sealed the way the audit trail's seals are: the SHA-256 of
the canonical body under the audit key's HMAC (`audit.chain.entry_mac`); `verify_export`
checks it (on an application host: it needs the key, as `audit verify --seal` does).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.audit.chain import entry_mac
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.clock import PARIS
from ra_workbench.documents.labels import IDENTITY_TYPE_LABELS_FR
from ra_workbench.documents.models import Document, Extraction
from ra_workbench.dossiers.labels import ROLE_LABELS_FR
from ra_workbench.dossiers.models import Dossier, Person, PersonRole, SignatureEvent
from ra_workbench.review.models import Decision, RegistrationEvidence

EXPORT_FORMAT = "ra-workbench-registration-evidence/1"

DOCUMENT_TYPE_LABELS_FR = {
    **IDENTITY_TYPE_LABELS_FR,
    "ID": "Carte d'identité (code MRZ ID)",
    "P": "Passeport (code MRZ P)",
}


def _date(value: Any) -> dt.date | None:
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _identity_documents(dossier: Dossier, person: Person) -> list[Document]:
    roles = {person.role}
    if person.role == PersonRole.HOLDER and person.same_as_legal_representative:
        roles.add(PersonRole.LEGAL_REPRESENTATIVE)
    return [
        d
        for d in dossier.current_documents()
        if d.type == "identity"
        and (d.person_id == person.id or (d.person_id is None and d.person_role in roles))
    ]


def _mrz(session: Session, documents: Sequence[Document]) -> dict[str, Any]:
    """The MRZ read from the person's documents (a valid reading first), from the cache."""
    digests = [d.sha256 for d in documents]
    if not digests:
        return {}
    readings = []
    for extraction in session.scalars(
        sa.select(Extraction)
        .where(Extraction.sha256.in_(digests), Extraction.kind == "identity")
        .order_by(Extraction.id)
    ):
        mrz = (extraction.result or {}).get("mrz")
        if isinstance(mrz, Mapping) and mrz.get("surname"):
            readings.append(dict(mrz))
    readings.sort(key=lambda m: not m.get("valid"))
    return readings[0] if readings else {}


def _signature(dossier: Dossier, role: str) -> dict[str, Any] | None:
    events = [e for e in dossier.signature_events if e.signer == role]
    if not events:
        return None
    latest: SignatureEvent = max(events, key=lambda e: (e.at, e.id))
    return {
        "evidence_id": latest.evidence_id,
        "at": latest.at.astimezone(dt.UTC).isoformat(),
        "status": latest.status,
        "identity_verification": latest.identity_verification,
    }


def _person_results(run: CheckRun | None, role: str) -> list[CheckResult]:
    return [r for r in (run.results if run else []) if r.person_role == role]


def _document_type(results: Sequence[CheckResult], mrz: Mapping[str, Any]) -> str:
    for result in results:
        if result.rule == "identity.document_type":
            extracted = (result.evidence or {}).get("extracted")
            if isinstance(extracted, Mapping) and extracted.get("type"):
                return str(extracted["type"])
    return str(mrz.get("document_code") or "")


def write_evidence(
    session: Session,
    dossier: Dossier,
    decision: Decision,
    *,
    run: CheckRun | None,
    decided_by: str,
    decided_at: dt.datetime,
    seconded_by: str | None,
    confirmations: Mapping[str, Any],
    overridden_rules: Sequence[Mapping[str, Any]] = (),
) -> list[RegistrationEvidence]:
    """One row per person of the dossier, for `decision`. Flushes."""
    visual = [item for item in confirmations.values() if isinstance(item, Mapping)]
    shared_documents = [
        {"id": d.id, "type": d.type, "side": d.side, "sha256": d.sha256}
        for d in dossier.current_documents()
        if d.type != "identity"
    ]
    rows = []
    for person in sorted(dossier.people, key=lambda p: (p.role, p.id)):
        identity = _identity_documents(dossier, person)
        mrz = _mrz(session, identity)
        results = _person_results(run, person.role)
        given = mrz.get("given_names") or []
        given_names = [given] if isinstance(given, str) else [str(g) for g in given]
        from_document = bool(mrz.get("surname"))
        full_name = (
            " ".join([str(mrz["surname"]), *given_names])
            if from_document
            else f"{person.last_name} {person.first_name}".strip()
        )
        row = RegistrationEvidence(
            dossier_id=dossier.id,
            decision_id=decision.id,
            person_role=person.role,
            full_name=full_name,
            name_source="mrz" if from_document else "declared",
            birth_date=_date(mrz.get("birth_date")),
            document_type=_document_type(results, mrz),
            document_number=str(mrz.get("document_number") or ""),
            issuing_state=str(mrz.get("issuing_state") or ""),
            expiry_date=_date(mrz.get("expiry_date")),
            validation={
                "mrz": {
                    "check_digits_valid": bool(mrz.get("valid")) if mrz else None,
                    "checks": dict(mrz.get("checks") or {}),
                    "format": mrz.get("format"),
                },
                "gosign": _signature(dossier, person.role),
                "visual_checks": [
                    {"rule": item.get("rule"), "comment": item.get("comment")}
                    for item in visual
                    if item.get("person_role") == person.role
                ],
                "results": {r.rule: r.outcome for r in sorted(results, key=lambda r: r.rule)},
                "overridden": sorted(
                    str(item.get("rule"))
                    for item in overridden_rules
                    if item.get("person_role") == person.role
                ),
            },
            accepted_by=decided_by,
            check_run_id=run.id if run else None,
            rules_hash=run.rules_hash if run else "",
            documents=[
                {"id": d.id, "type": d.type, "side": d.side, "sha256": d.sha256} for d in identity
            ]
            + shared_documents,
            decided_by=decided_by,
            seconded_by=seconded_by,
            decided_at=decided_at,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def evidence_for(session: Session, dossier_id: int) -> list[RegistrationEvidence]:
    return list(
        session.scalars(
            sa.select(RegistrationEvidence)
            .where(RegistrationEvidence.dossier_id == dossier_id)
            .order_by(RegistrationEvidence.decision_id, RegistrationEvidence.id)
        )
    )


# -- the auditors' export ------------------------------------------------------------------


def evidence_json(row: RegistrationEvidence) -> dict[str, Any]:
    return {
        "decision_id": row.decision_id,
        "person_role": row.person_role,
        "person_role_fr": ROLE_LABELS_FR.get(row.person_role, row.person_role),
        "full_name": row.full_name,
        "name_source": row.name_source,
        "birth_date": row.birth_date.isoformat() if row.birth_date else None,
        "document_type": row.document_type,
        "document_number": row.document_number,
        "issuing_state": row.issuing_state,
        "expiry_date": row.expiry_date.isoformat() if row.expiry_date else None,
        "validation": row.validation,
        "accepted_by": row.accepted_by,
        "check_run_id": row.check_run_id,
        "rules_hash": row.rules_hash,
        "documents": row.documents,
        "decided_by": row.decided_by,
        "seconded_by": row.seconded_by,
        "decided_at": row.decided_at.astimezone(dt.UTC).isoformat(),
        "decided_at_paris": row.decided_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M"),
    }


def _canonical(body: Mapping[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def export(
    session: Session, dossier: Dossier, *, key: str, exported_by: str, now: dt.datetime
) -> dict[str, Any]:
    """The dossier's evidence records, sealed: {body, sha256, mac}."""
    body = {
        "format": EXPORT_FORMAT,
        "order_number": dossier.order_number,
        "exported_at": now.astimezone(dt.UTC).isoformat(),
        "exported_by": exported_by,
        "records": [evidence_json(row) for row in evidence_for(session, dossier.id)],
    }
    digest = hashlib.sha256(_canonical(body).encode()).hexdigest()
    return {"body": body, "sha256": digest, "mac": entry_mac(key, digest)}


def verify_export(text: str | bytes, *, key: str) -> bool:
    """True when the export is exactly as sealed under `key`."""
    try:
        sealed = json.loads(text)
        body, digest, mac = sealed["body"], str(sealed["sha256"]), str(sealed["mac"])
    except (ValueError, KeyError, TypeError):
        return False
    if not isinstance(body, dict):
        return False
    recomputed = hashlib.sha256(_canonical(body).encode()).hexdigest()
    return hmac.compare_digest(recomputed, digest) and hmac.compare_digest(
        entry_mac(key, digest), mac
    )
