"""One evidence record per person (EN 319 411-1 REG-6.4.5-04; REQUIREMENTS 2, 3, 10).

Written at the decision that commits the RA — an approval, or a supervisor seconding an
override — from what the decision stood on: the check run, the identity document as read
(the MRZ in the extraction cache), the GoSign signature event, the operator's visual checks.
Every value is copied into the row, never referenced, so the record still reads the same once
the identity copies and the extraction cache are purged. Rows are never updated nor deleted
(`RegistrationEvidence` refuses it); a later decision writes new rows.

The export for auditors is signed, not merely sealed with one of our keys: a zip holding the
JSON, a detached CMS (PKCS#7) signature over its exact bytes by the RA's evidence seal (a
certificate of the local CA, `issuance/seal.py`) and the chain, so that an auditor checks it
with `openssl cms -verify` and nothing of ours (LISEZ-MOI.txt in the zip gives the command).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

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


class ExportSeal(Protocol):
    """Who signs the exports: the RA's evidence seal (`issuance/seal.py`, handed over by the
    app factory: issuance sits after review on the journey)."""

    def sign(self, content: bytes) -> bytes:
        """A detached CMS signature (DER) over exactly `content`."""
        ...

    def chain_pem(self) -> str:
        """The certificates above the seal (issuing CA, root), PEM."""
        ...


_SEAL = "ra_workbench.review.evidence_seal"


def seal_exports_with(seal: Callable[[], ExportSeal]) -> None:
    """Called by the shell (app factory) with what builds the evidence seal."""
    current_app.extensions[_SEAL] = seal


def export_seal() -> ExportSeal:
    return cast("Callable[[], ExportSeal]", current_app.extensions[_SEAL])()


VERIFY_COMMAND = (
    "openssl cms -verify -binary -inform DER -in {name}.p7s -content {name} "
    "-CAfile chaine.pem -purpose any -out /dev/null"
)
README_FR = """Preuves d'enregistrement du dossier {order} (REG-6.4.5-04)

{name}      les preuves (JSON, UTF-8), telles que signées
{name}.p7s  la signature CMS (PKCS#7) détachée du cachet de l'AE, au format DER
chaine.pem  l'AC émettrice et l'AC racine qui ont émis le cachet

Vérifier (OpenSSL 1.1 ou 3) :
  {command}
« Verification successful » : le fichier est intact et signé par le cachet des preuves de
l'AE. Pour une racine connue par un autre canal, remplacez chaine.pem par ce fichier.
"""


@dataclass(frozen=True)
class SignedExport:
    """The auditors' export: the JSON body, its detached signature and the chain."""

    order_number: str
    body: bytes
    signature: bytes
    chain_pem: str
    records: int
    exported_at: dt.datetime

    @property
    def name(self) -> str:
        return f"preuves-{self.order_number}.json"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def files(self) -> dict[str, bytes]:
        command = VERIFY_COMMAND.format(name=self.name)
        readme = README_FR.format(order=self.order_number, name=self.name, command=command)
        return {
            self.name: self.body,
            f"{self.name}.p7s": self.signature,
            "chaine.pem": self.chain_pem.encode(),
            "LISEZ-MOI.txt": readme.encode(),
        }

    def zip(self) -> bytes:
        out = io.BytesIO()
        stamp = self.exported_at.astimezone(PARIS).timetuple()[:6]
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in self.files().items():
                archive.writestr(zipfile.ZipInfo(name, date_time=stamp), data)
        return out.getvalue()


def export(
    session: Session,
    dossier: Dossier,
    *,
    seal: ExportSeal,
    exported_by: str,
    now: dt.datetime,
) -> SignedExport:
    """The dossier's evidence records as JSON, signed by the RA's evidence seal over the
    exact bytes of the file the auditor receives."""
    records = [evidence_json(row) for row in evidence_for(session, dossier.id)]
    body = {
        "format": EXPORT_FORMAT,
        "order_number": dossier.order_number,
        "exported_at": now.astimezone(dt.UTC).isoformat(),
        "exported_by": exported_by,
        "records": records,
    }
    content = (json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    return SignedExport(
        order_number=dossier.order_number,
        body=content,
        signature=seal.sign(content),
        chain_pem=seal.chain_pem(),
        records=len(records),
        exported_at=now,
    )


def read_export(path: Path) -> tuple[bytes, bytes]:
    """(body, signature) from a kept export: the zip as downloaded, or the JSON file with
    its `.p7s` beside it. Raises ValueError in French."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            bodies = [n for n in names if n.endswith(".json")]
            if len(bodies) != 1 or f"{bodies[0]}.p7s" not in names:
                raise ValueError(f"{path} : l'archive ne contient pas preuves-….json et sa .p7s")
            return archive.read(bodies[0]), archive.read(f"{bodies[0]}.p7s")
    signature = path.with_name(f"{path.name}.p7s")
    if not signature.exists():
        raise ValueError(f"{path} : signature {signature.name} introuvable à côté du fichier")
    return path.read_bytes(), signature.read_bytes()
