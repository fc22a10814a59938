"""Ingestion of the portal's dossier packages: the operator's first contact with a dossier."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask

from ra_workbench.documents.models import Document
from ra_workbench.dossiers.models import Dossier, DossierRevision
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.ingest import service as ingest_service
from ra_workbench.ingest.package import read_package_path
from ra_workbench.ingest.service import ingest, package_limits
from ra_workbench.synth.packages import generate_batch, generate_broken_package, generate_dossier
from tests.snapshots import audit_event_types, database_rows, store_files

TODAY = dt.date(2026, 11, 20)
BROKEN_KINDS = (
    "bad_json",
    "unknown_format",
    "missing_keys",
    "path_traversal",
    "missing_file",
    "two_holders",
    "zip_slip",
    "zip_absolute",
    "zip_symlink",
    "zip_bomb",
)


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("packages")
    return generate_batch(out, count=4, seed=11, today=TODAY, defect_rate=0.5, light=True)


@pytest.fixture(scope="module")
def broken_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("broken")
    return {kind: generate_broken_package(out, kind, seed=5) for kind in BROKEN_KINDS}


def ingest_path(path: Path) -> ingest_service.IngestOutcome:
    limits = package_limits()
    return ingest(lambda: read_package_path(path, limits), name=path.name, source="test")


def test_ingesting_generated_packages_creates_one_dossier_each_with_its_documents(
    app: Flask, packages: list[Path]
) -> None:
    for path in packages:
        outcome = ingest_path(path)
        assert outcome.outcome == "created", outcome.errors
        manifest = json.loads((path / "dossier.json").read_text())
        dossier = (
            db.session.scalars(
                sa.select(Dossier).where(Dossier.order_number == manifest["order_number"])
            )
            .unique()
            .one()
        )
        assert dossier.status == DossierStatus.PENDING
        assert len(dossier.documents) == len(manifest["documents"])
        assert dossier.holder is not None
        for document in dossier.documents:
            assert store_files()[document.sha256]  # bytes are in the store
            assert document.media_type in {"image/jpeg", "image/png", "application/pdf"} or (
                document.media_type  # a deliberately wrong format keeps its sniffed type
            )


def test_same_order_number_and_revision_twice_is_a_duplicate_and_changes_nothing(
    app: Flask, packages: list[Path]
) -> None:
    assert ingest_path(packages[0]).outcome == "created"
    before, files = database_rows(include_audit=True), store_files()
    outcome = ingest_path(packages[0])
    assert outcome.outcome == "duplicate"
    assert outcome.errors == []
    assert database_rows(include_audit=True) == before
    assert store_files() == files


def test_higher_revision_replaces_identity_documents_and_keeps_the_old_ones(
    app: Flask, tmp_path: Path
) -> None:
    first = generate_dossier(tmp_path / "r1", seed=3, order_number="400001", today=TODAY)
    second = generate_dossier(
        tmp_path / "r2", seed=4, order_number="400001", today=TODAY, revision=2
    )
    assert ingest_path(first).outcome == "created"
    dossier = db.session.scalars(sa.select(Dossier)).unique().one()
    old_identity = {d.sha256 for d in dossier.documents if d.type == "identity"}

    outcome = ingest_path(second)

    assert outcome.outcome == "revised"
    assert outcome.revision == 2
    db.session.expire_all()
    documents = db.session.scalars(sa.select(Document)).all()
    superseded = {d.sha256 for d in documents if d.superseded}
    current_identity = {d.sha256 for d in documents if d.type == "identity" and not d.superseded}
    assert old_identity <= superseded
    assert current_identity
    assert current_identity.isdisjoint(old_identity)
    revisions = db.session.scalars(sa.select(DossierRevision.revision)).all()
    assert sorted(revisions) == [1, 2]


def test_revision_after_the_dossier_was_validated_is_refused(app: Flask, tmp_path: Path) -> None:
    first = generate_dossier(tmp_path / "r1", seed=3, order_number="400002", today=TODAY)
    second = generate_dossier(
        tmp_path / "r2", seed=4, order_number="400002", today=TODAY, revision=2
    )
    ingest_path(first)
    dossier = db.session.scalars(sa.select(Dossier)).unique().one()
    dossier.status = DossierStatus.APPROVED.value
    db.session.commit()
    before, files = database_rows(), store_files()

    outcome = ingest_path(second)

    assert outcome.outcome == "refused"
    assert any("déjà validé" in e for e in outcome.errors)
    assert database_rows() == before
    assert store_files() == files


@pytest.mark.parametrize("kind", BROKEN_KINDS)
def test_broken_package_is_refused_and_leaves_database_and_store_unchanged(
    app: Flask, packages: list[Path], broken_packages: dict[str, Path], kind: str
) -> None:
    ingest_path(packages[1])
    before, files = database_rows(), store_files()
    audit_before = audit_event_types()

    outcome = ingest_path(broken_packages[kind])

    assert outcome.outcome == "refused"
    assert outcome.errors, "a refusal always says why, in French"
    assert database_rows() == before
    assert store_files() == files
    assert audit_event_types() == [*audit_before, "package.refused"]


def test_crash_midway_through_ingestion_leaves_no_row_and_no_file(
    app: Flask, packages: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    before, files = database_rows(include_audit=True), store_files()
    real_store_document = ingest_service._store_document
    calls = {"n": 0}

    def crash_on_third(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk unplugged")
        return real_store_document(*args, **kwargs)

    monkeypatch.setattr(ingest_service, "_store_document", crash_on_third)
    with pytest.raises(RuntimeError, match="disk unplugged"):
        ingest_path(packages[2])

    assert calls["n"] == 3
    assert database_rows(include_audit=True) == before
    assert store_files() == files


def test_cli_ingest_reports_each_package_as_json_and_exits_1_when_one_is_refused(
    app: Flask, packages: list[Path], broken_packages: dict[str, Path]
) -> None:
    from ra_workbench.cli import ingest_command

    runner = CliRunner()
    result = runner.invoke(
        ingest_command,
        [str(packages[0]), str(broken_packages["path_traversal"]), "--json"],
        obj=None,
    )
    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [line["outcome"] for line in lines] == ["created", "refused"]
    for line in lines:
        assert {"path", "order_number", "outcome", "errors", "dossier_status"} <= line.keys()
    assert lines[0]["errors"] == []
    assert lines[0]["dossier_status"] == "pending"
    assert result.exit_code == 1

    again = runner.invoke(ingest_command, [str(packages[0]), "--json"])
    assert json.loads(again.output)["outcome"] == "duplicate"
    assert again.exit_code == 0


def test_inbox_moves_packages_to_done_or_refused_with_the_reason_beside(
    app: Flask, packages: list[Path], broken_packages: dict[str, Path]
) -> None:
    from ra_workbench.ingest.inbox import drain_inbox

    inbox = app.config["RA_SETTINGS"].inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copytree(packages[3], inbox / packages[3].name)
    shutil.copytree(broken_packages["missing_file"], inbox / "broken-missing-file")

    outcomes = {o.path: o.outcome for o in drain_inbox(inbox)}

    assert outcomes == {packages[3].name: "created", "broken-missing-file": "refused"}
    assert (inbox / "done" / packages[3].name / "dossier.json").exists()
    error_text = (inbox / "refused" / "broken-missing-file.error.txt").read_text()
    assert "ne désigne aucun fichier" in error_text
    assert list(drain_inbox(inbox)) == []  # a second run has nothing left to do
