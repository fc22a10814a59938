"""REQUIREMENTS 15, collect only what is needed: the portal's contract admits no field the
workbench does not know, and the audit trail, which is kept for ever and read by supervisors
and auditors, names no one. Its entries carry ids, hashes and codes; the names, birth dates,
contact data and document numbers stay in the dossier's own rows, where retention can erase
them. One entry may carry names because a requirement asks for them: the ICAO transliteration
of the certificate's names (REQUIREMENTS 3)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from ra_workbench.audit.models import AuditEvent
from ra_workbench.delivery import service as delivery
from ra_workbench.delivery.models import Shipment
from ra_workbench.documents.models import Extraction
from ra_workbench.dossiers.models import Dossier, Person
from ra_workbench.extensions import db
from ra_workbench.ingest.package import read_package_path
from ra_workbench.ingest.service import ingest, ingest_signature, package_limits
from ra_workbench.issuance.service import issue_certificate
from ra_workbench.synth.packages import generate_dossier
from tests.factories import make_approved_dossier, make_user
from tests.snapshots import database_rows, store_files

TODAY = dt.date(2026, 11, 20)
# Entries whose payload is meant to carry a name, and the requirement that asks for it.
NAMES_REQUIRED_BY = {"issuance.transliteration": "REQUIREMENTS 3 (ICAO 9303 part 3)"}


def _objects(node: Any, where: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield where, node
        for key, value in node.items():
            if key != "if":  # a condition on the data (if/then), not a shape of it
                yield from _objects(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, f"{where}[{index}]")


@pytest.mark.parametrize("name", ["dossier.schema.json", "signature.schema.json"])
def test_the_portal_contract_admits_no_field_the_workbench_does_not_know(name: str) -> None:
    schema = json.loads(
        resources.files("ra_workbench.ingest").joinpath("schema", name).read_text("utf-8")
    )
    open_objects = [
        where for where, node in _objects(schema) if node.get("additionalProperties") is not False
    ]
    assert open_objects == []


def _package(tmp_path: Path, **changes: Any) -> Path:
    path = generate_dossier(tmp_path, seed=3, order_number="288301", today=TODAY, light=True)
    manifest = path / "dossier.json"
    data = json.loads(manifest.read_text("utf-8"))
    for role, extra in changes.items():
        data[role].update(extra)
    manifest.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


def test_a_package_carrying_data_we_do_not_ask_for_is_refused_and_keeps_nothing(
    app: Flask, tmp_path: Path
) -> None:
    path = _package(tmp_path, holder={"numero_securite_sociale": "2850469123456"})
    before = (database_rows(include_audit=False), store_files())

    outcome = ingest(lambda: read_package_path(path, package_limits()), name="p", source="test")

    assert outcome.outcome == "refused"
    assert any("numero_securite_sociale" in error for error in outcome.errors), outcome.errors
    assert (database_rows(include_audit=False), store_files()) == before


def _personal_values(dossiers: list[Dossier]) -> set[str]:
    values: set[str] = set()
    for dossier in dossiers:
        for person in db.session.scalars(sa.select(Person).where(Person.dossier_id == dossier.id)):
            values |= {person.first_name, person.last_name, person.email, person.mobile}
            values |= {str(v) for v in (person.address or {}).values()}
    for extraction in db.session.scalars(sa.select(Extraction)):  # every reading on file
        mrz = (extraction.result or {}).get("mrz") or {}
        for key in ("surname", "given_names", "document_number", "birth_date"):
            if mrz.get(key):
                values.add(str(mrz[key]))
    # Short values (« 12 », a one-letter given name) would match anything: not a name.
    return {v.strip() for v in values if v and len(v.strip()) >= 4}


def _entries_naming(values: set[str]) -> list[tuple[str, str]]:
    found = []
    for entry in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)):
        if entry.event_type in NAMES_REQUIRED_BY:
            continue
        text = json.dumps(entry.payload, ensure_ascii=False).upper()
        found += [(entry.event_type, v) for v in values if v.upper() in text]
    return found


def test_the_audit_trail_of_a_whole_journey_names_no_one(app: Flask, tmp_path: Path) -> None:
    # From the portal: a package, its corrected re-export, a signature event.
    first = _package(tmp_path / "r1")
    ingested = ingest(lambda: read_package_path(first, package_limits()), name="p", source="test")
    assert ingested.outcome == "created", ingested.errors
    second = generate_dossier(
        tmp_path / "r2", seed=3, order_number="288301", today=TODAY, light=True, revision=2
    )
    revised = ingest(lambda: read_package_path(second, package_limits()), name="p", source="test")
    assert revised.outcome == "revised", revised.errors
    signature = {
        "format": "portail-signature/1",
        "order_number": "288301",
        "signer": "holder",
        "status": "signed",
        "identity_verification": "self_id_passed",
        "evidence_id": "GS-2026-77",
        "at": "2026-11-20T10:00:00+01:00",
    }
    signed = ingest_signature(json.dumps(signature).encode(), source="test")
    assert signed.outcome == "recorded", signed.errors

    # In the workbench: approved through the review service, issued, prepared, shipped.
    approved = make_approved_dossier(db.session)
    issue_certificate(db.session, approved.id)
    operator = make_user(db.session)
    shipment = db.session.scalars(
        sa.select(Shipment).where(Shipment.dossier_id == approved.id)
    ).one()
    delivery.change_shipment_state(db.session, shipment.id, "shipped", actor=operator)
    delivery.change_shipment_state(db.session, shipment.id, "delivered", actor=operator)

    dossiers = list(db.session.scalars(sa.select(Dossier)))
    values = _personal_values(dossiers)
    assert {"DURAND", "CLAIRE"} <= {v.upper() for v in values}  # the test looks for something
    kinds = {e.event_type for e in db.session.scalars(sa.select(AuditEvent))}
    assert {
        "package.ingested",
        "signature.received",
        "checks.run",
        "review.claimed",
        "issuance.certificate_issued",
        "issuance.token_prepared",
        "delivery.shipment_delivered",
    } <= kinds
    assert _entries_naming(values) == []
