"""A customer corrects the order: the re-export carries the whole dossier, its declared data
as well as its documents. The workbench applies it, keeps each revision's data, shows the
operator what changed field by field, re-runs the checks, and flags the changes that must
not pass silently."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from ra_workbench.audit.models import AuditEvent
from ra_workbench.checks.service import evaluate_dossier
from ra_workbench.dossiers.models import Dossier, DossierRevision
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.ingest.package import read_package_path
from ra_workbench.ingest.service import IngestOutcome, ingest, package_limits
from ra_workbench.portal.status import order_status
from ra_workbench.synth.packages import generate_dossier

TODAY = dt.date(2026, 11, 20)
ORDER = "400301"
LANDLINE = "0140000000"


def _export(
    tmp_path: Path, revision: int, variant: dict[str, Any] | None = None, **changes: dict[str, Any]
) -> Path:
    """The portal's export of the same order (same people, same documents), with `changes`
    to its declared parties."""
    path = generate_dossier(
        tmp_path / f"r{revision}",
        seed=3,
        order_number=ORDER,
        today=TODAY,
        revision=revision,
        variant=variant,
    )
    manifest = path / "dossier.json"
    data = json.loads(manifest.read_text("utf-8"))
    for party, fields in changes.items():
        data[party].update(fields)
    manifest.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


def _ingest(path: Path) -> IngestOutcome:
    return ingest(lambda: read_package_path(path, package_limits()), name=path.name, source="test")


def _declared(tmp_path: Path) -> dict[str, Any]:
    path = generate_dossier(tmp_path / "ref", seed=3, order_number=ORDER, today=TODAY)
    data: dict[str, Any] = json.loads((path / "dossier.json").read_text("utf-8"))
    return data


def _dossier() -> Dossier:
    db.session.expire_all()
    return (
        db.session.scalars(sa.select(Dossier).where(Dossier.order_number == ORDER)).unique().one()
    )


def _outcomes(dossier: Dossier, rule: str) -> set[str]:
    run = evaluate_dossier(db.session, dossier.id, trigger="test", at=TODAY)
    return {r.outcome for r in run.results if r.rule == rule}


def test_a_corrected_mobile_and_surname_are_applied_shown_and_checked_again(
    app: Flask, tmp_path: Path
) -> None:
    truth = _declared(tmp_path)
    surname, mobile = truth["holder"]["last_name"], truth["legal_representative"]["mobile"]
    typo = surname[:-1] + ("X" if surname[-1] != "X" else "Y")
    first = _export(
        tmp_path, 1, holder={"last_name": typo}, legal_representative={"mobile": LANDLINE}
    )
    assert _ingest(first).outcome == "created"
    dossier = _dossier()
    assert "fail" in _outcomes(dossier, "contact.mobile")
    assert "fail" in _outcomes(dossier, "identity.name_match")
    asked = " ".join(order_status(ORDER)["to_provide"])  # type: ignore[index]
    assert "mobile" in asked

    outcome = _ingest(_export(tmp_path, 2))

    assert outcome.outcome == "revised"
    dossier = _dossier()
    assert dossier.holder is not None
    assert dossier.legal_representative is not None
    assert dossier.holder.last_name == surname
    assert dossier.legal_representative.mobile == mobile
    assert dossier.status == DossierStatus.PENDING.value
    # Each revision's declared data is kept; the second says what changed, in French.
    revisions = db.session.scalars(
        sa.select(DossierRevision).order_by(DossierRevision.revision)
    ).all()
    assert [r.summary["declared"]["holder"]["last_name"] for r in revisions] == [typo, surname]
    changes = {c["label"]: (c["before"], c["after"]) for c in revisions[1].summary["changes"]}
    assert changes == {
        "nom du porteur": (typo, surname),
        "mobile du représentant légal": (LANDLINE, mobile),
    }
    assert revisions[1].summary["sensitive"] == []
    # The trail says which fields changed, never their values.
    [entry] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.event_type == "dossier.transition")
    ).all()[-1:]
    assert sorted(entry.payload["changed_fields"]) == [
        "holder.last_name",
        "legal_representative.mobile",
    ]
    assert surname not in json.dumps(entry.payload)
    assert mobile not in json.dumps(entry.payload)
    # Checked again on the corrected data: nothing left to ask for these two fields.
    assert "fail" not in _outcomes(dossier, "contact.mobile")
    assert _outcomes(dossier, "identity.name_match") == {"pass"}
    assert "mobile" not in " ".join(order_status(ORDER)["to_provide"])  # type: ignore[index]
    assert order_status(ORDER)["revision"] == 2  # type: ignore[index]


def test_the_holders_identity_changed_after_documents_were_asked_for_goes_to_an_operator(
    app: Flask, tmp_path: Path
) -> None:
    assert _ingest(_export(tmp_path, 1)).outcome == "created"
    dossier = _dossier()
    assert _outcomes(dossier, "revision.sensitive_changes") == {"pass"}
    dossier.status = DossierStatus.DOCUMENTS_REQUESTED.value  # the RA asked for documents
    db.session.commit()

    assert _ingest(_export(tmp_path, 2, holder={"first_name": "AUTRE"})).outcome == "revised"

    dossier = _dossier()
    assert dossier.holder is not None
    assert dossier.holder.first_name == "AUTRE"
    run = evaluate_dossier(db.session, dossier.id, trigger="test", at=TODAY)
    [flag] = [r for r in run.results if r.rule == "revision.sensitive_changes"]
    assert flag.outcome == "manual"
    assert "prénom du porteur" in flag.message
    assert "« AUTRE »" in flag.message


def test_a_new_siren_on_a_dossier_with_a_mandate_on_file_goes_to_an_operator(
    app: Flask, tmp_path: Path
) -> None:
    with_mandataire = {"has_mandataire": True}
    assert _ingest(_export(tmp_path, 1, with_mandataire)).outcome == "created"
    dossier = _dossier()
    assert any(d.type == "mandate" for d in dossier.current_documents())
    other = "552100554" if dossier.organisation.siren != "552100554" else "732829320"

    changed = _export(tmp_path, 2, with_mandataire, organisation={"siren": other})
    assert _ingest(changed).outcome == "revised"

    dossier = _dossier()
    assert dossier.organisation.siren == other
    [revision] = [r for r in dossier.revisions if r.revision == 2]
    assert revision.summary["sensitive"] == ["organisation.siren"]
    run = evaluate_dossier(db.session, dossier.id, trigger="test", at=TODAY)
    assert {r.outcome for r in run.results if r.rule == "revision.sensitive_changes"} == {"manual"}
