"""The hostile corpus (tests/ingest/hostile_packages.py) through each door of the workbench:
the CLI, the portal API and the inbox. A refused package gets a French message naming the
field or the zip entry, leaves every table and the document store as they were (only the
refusal is audited), and costs no more than a fixed budget of CPU time and memory — budgets
the process itself counts, so a loaded machine does not make them flaky.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.checks import tasks as checks_tasks
from ra_workbench.config import Settings
from ra_workbench.documents.models import Document
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.ingest import inbox as inbox_module
from ra_workbench.ingest import service as ingest_service
from ra_workbench.ingest.inbox import drain_inbox
from ra_workbench.ingest.package import load_schema
from ra_workbench.ingest.service import INTERNAL_ERROR, INTERNAL_ERROR_EVENT
from tests.conftest import REPO_ROOT
from tests.factories import make_document, make_dossier
from tests.ingest.hostile_packages import (
    ACCEPTED_ZIP_NAMES,
    ALL_NAMES,
    DIRECTORY_NAMES,
    HOSTILE_DOCUMENTS,
    HostileDocument,
    HostilePackage,
    write_hostile_documents,
    write_hostile_packages,
)
from tests.snapshots import audit_event_types, database_rows, store_files

# Words only a French message carries; every refusal has at least one.
FRENCH = re.compile(
    r"\b(champ|archive|entrée|illisible|refusée?|absent|trop|porteur|chemin|fichier|valeur|"
    r"inconnu|obligatoire|manquant|interdit|paquet|lien|caractère|commande|désigne|date|"
    r"attendu)\b"
)
# Per package: CPU seconds of this process and bytes tracemalloc sees at the peak. Far above
# what a package costs (a few hundredths of a second, a few MiB), far below what inflating a
# bomb or parsing 100,000 nested brackets would.
CPU_BUDGET_S = 30.0
MEMORY_BUDGET = 48 * 1024 * 1024
CHANNELS = ("cli", "api", "inbox")


class OverBudget(BaseException):
    """Not an Exception: no `except Exception` on the way may swallow it."""


@contextmanager
def bounded(cpu_seconds: float = CPU_BUDGET_S, memory: int = MEMORY_BUDGET) -> Iterator[None]:
    """Fail if the block uses more CPU time than `cpu_seconds` (ITIMER_PROF: this process's
    CPU, not the clock) or more memory than `memory` at its peak (tracemalloc)."""

    def over(_signum: int, _frame: Any) -> None:
        raise OverBudget(f"more than {cpu_seconds} s of CPU")

    previous = signal.signal(signal.SIGPROF, over)
    signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
    tracemalloc.start()
    try:
        yield
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    assert peak < memory, f"peak memory {peak} bytes over the budget of {memory}"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HostilePackage]:
    return write_hostile_packages(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def hostile_documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HostileDocument]:
    out = tmp_path_factory.mktemp("hostile-documents")
    return {d.name: d for d in write_hostile_documents(out)}


@pytest.fixture(autouse=True)
def checks_deferred(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """The check jobs an accepted package asks for, recorded instead of run: what the checks
    make of hostile content is tests/extraction's and tests/checks' business."""
    deferred: list[tuple[str, tuple[Any, ...]]] = []

    def record(_session: Any, task: str, *args: Any, job_id: str | None = None) -> None:
        deferred.append((task, args))

    monkeypatch.setattr(checks_tasks, "defer_job", record)
    return deferred


@pytest.fixture
def seeded(app: Flask) -> None:
    """One dossier with a stored document already there: "unchanged" then means something."""
    dossier = make_dossier(db.session)
    make_document(db.session, dossier)
    db.session.commit()


@dataclass
class Snapshot:
    rows: dict[str, list[tuple[Any, ...]]]
    files: dict[str, bytes]
    audit: list[str] = field(default_factory=list)

    @classmethod
    def take(cls) -> Snapshot:
        return cls(database_rows(), store_files(), audit_event_types())


@dataclass
class Answer:
    outcome: str
    errors: list[str]
    order_number: str | None = None


def _replicate(source: Path, target: Path) -> None:
    """Copy a package as it is: links stay links, a named pipe stays a pipe (never read)."""
    mode = source.lstat().st_mode
    if stat.S_ISLNK(mode):
        target.symlink_to(os.readlink(source))
    elif stat.S_ISFIFO(mode):
        os.mkfifo(target)
    elif stat.S_ISDIR(mode):
        target.mkdir()
        for child in sorted(source.iterdir()):
            _replicate(child, target / child.name)
    else:
        shutil.copy2(source, target)


@dataclass
class Doors:
    """The three ways a package comes in: `ra-workbench ingest`, the portal API, the inbox."""

    app: Flask
    client: FlaskClient
    headers: dict[str, str]

    def enter(self, channel: str, package: HostilePackage) -> Answer:
        return {"cli": self.cli, "api": self.api, "inbox": self.inbox}[channel](package)

    def cli(self, package: HostilePackage) -> Answer:
        from ra_workbench.cli import ingest_command

        result = CliRunner().invoke(ingest_command, [str(package.path), "--json"])
        assert "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit | None), result.exception
        line = json.loads(result.output.strip().splitlines()[-1])
        assert result.exit_code == (1 if line["outcome"] in ("refused", "error") else 0)
        return Answer(line["outcome"], line["errors"], line["order_number"])

    def api(self, package: HostilePackage) -> Answer:
        response = self.client.post(
            "/api/v1/dossiers",
            data={"package": (io.BytesIO(package.path.read_bytes()), package.path.name)},
            headers=self.headers,
            content_type="multipart/form-data",
        )
        body = response.get_json()
        expected_status = {"refused": 400, "created": 201}.get(body["outcome"], 200)
        assert response.status_code == expected_status, body
        return Answer(body["outcome"], body["errors"], body["order_number"])

    def inbox(self, package: HostilePackage) -> Answer:
        inbox: Path = self.app.config["RA_SETTINGS"].inbox_dir
        inbox.mkdir(parents=True, exist_ok=True)
        _replicate(package.path, inbox / package.path.name)
        [outcome] = list(drain_inbox(inbox))
        folder = "refused" if outcome.outcome in ("refused", "error") else "done"
        moved = inbox / folder / package.path.name
        assert moved.exists() or moved.is_symlink(), f"{package.path.name} not in {folder}/"
        assert sorted(p.name for p in inbox.iterdir()) == [folder]
        if folder == "refused":
            reason = (inbox / "refused" / f"{package.path.name}.error.txt").read_text("utf-8")
            assert reason.splitlines() == outcome.errors
        assert list(drain_inbox(inbox)) == []  # nothing blocks: the next run has nothing to do
        return Answer(outcome.outcome, outcome.errors, outcome.order_number)


@pytest.fixture
def doors(app: Flask, client: FlaskClient, api_headers: dict[str, str]) -> Doors:
    return Doors(app, client, api_headers)


def _cases() -> list[Any]:
    return [
        pytest.param((channel, name), id=f"{channel}-{name}")
        for name in ALL_NAMES
        for channel in CHANNELS
        # The API takes zips only, and answers an empty upload itself (tests/ingest/test_api).
        if not (channel == "api" and (name in DIRECTORY_NAMES or name == "zip-empty-file"))
    ]


def assert_refused_in_french_naming(answer: Answer, package: HostilePackage) -> None:
    assert answer.outcome == "refused", (package.name, answer)
    assert answer.errors
    text = " ; ".join(answer.errors)
    assert FRENCH.search(text), text
    assert package.mention in text, (package.mention, text)
    assert "Traceback" not in text
    for error in answer.errors:
        error.encode("utf-8")  # printable and storable, whatever the package held


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("case", _cases())
def test_hostile_package_is_refused_in_french_and_leaves_nothing_behind(
    doors: Doors,
    corpus: dict[str, HostilePackage],
    checks_deferred: list[tuple[str, tuple[Any, ...]]],
    case: tuple[str, str],
) -> None:
    channel, name = case
    package = corpus[name]
    before = Snapshot.take()

    with bounded():
        answer = doors.enter(channel, package)

    if package.expected == "refused":
        assert_refused_in_french_naming(answer, package)
        assert database_rows() == before.rows
        assert store_files() == before.files
        assert audit_event_types() == [*before.audit, "package.refused"]
        assert checks_deferred == []
    else:
        assert answer.outcome == "created", (name, answer.errors)
        dossier = (
            db.session.scalars(
                sa.select(Dossier).where(Dossier.order_number == answer.order_number)
            )
            .unique()
            .one()
        )
        assert dossier.status == "pending"
        assert "package.ingested" in audit_event_types()
        assert checks_deferred == [(checks_tasks.CHECKS_TASK, (dossier.id, "ingest"))]


def test_the_corpus_has_every_case_the_issue_lists(corpus: dict[str, HostilePackage]) -> None:
    refused = [p for p in corpus.values() if p.expected == "refused"]
    assert len(refused) >= 60
    assert len(ACCEPTED_ZIP_NAMES) >= 10
    for probe in (
        "zip-size-smaller-than-data",  # a zip whose sizes lie
        "zip-bad-crc",
        "zip-encrypted-entry",
        "zip-corrupt-deflate",
        "zip-method-99",
        "json-100000-deep",
        "price-abc",
        "transaction-id-object",
        "revision-10-pow-30",
        "submitted-year-9999",
        "lone-surrogate-last-name",
        "nul-in-first-name",
        "siren-over-column",
        "civility-mademoiselle",
        "same-as-text-false",
        "mandate-text-false",
        "address-as-text",
        "json-nan-literal",
        "json-infinity-literal",
        "order-arabic-indic",
    ):
        assert corpus[probe].expected == "refused", probe


def test_the_schemas_are_draft_2020_12_and_load() -> None:
    for name in ("dossier", "signature"):
        validator = load_schema(name)
        assert validator.META_SCHEMA["$id"].startswith("https://json-schema.org/draft/2020-12")


# -- hostile documents inside valid packages ----------------------------------------------------


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("name", list(HOSTILE_DOCUMENTS))
def test_hostile_document_is_accepted_and_stored_byte_for_byte(
    doors: Doors, hostile_documents: dict[str, HostileDocument], name: str
) -> None:
    document = hostile_documents[name]
    package = HostilePackage(name, document.path, "accepted", "", document.why)

    with bounded():
        answer = doors.api(package)

    assert answer.outcome == "created", answer.errors
    stored = db.session.scalars(
        sa.select(Document)
        .join(Dossier, Document.dossier_id == Dossier.id)
        .where(Dossier.order_number == answer.order_number)
        .where(Document.original_name == document.document)
    ).one()
    assert stored.size == len(document.data)
    assert store_files()[stored.sha256] == document.data


def test_there_are_at_least_thirty_hostile_documents() -> None:
    assert len(HOSTILE_DOCUMENTS) >= 30


# -- one package never stops the others ---------------------------------------------------------


def test_cli_batch_goes_on_after_each_refusal_in_a_bounded_process(
    app: Flask, settings: Settings, corpus: dict[str, HostilePackage], tmp_path: Path
) -> None:
    """`ra-workbench ingest A B C …` in its own process, under kernel limits on CPU time and
    address space: every hostile package answered in order, the valid one ingested."""
    refused = [p for p in corpus.values() if p.expected == "refused"]
    accepted = corpus["ok-stored-not-deflated"]
    paths = [str(p.path) for p in refused[: len(refused) // 2]]
    paths += [str(accepted.path)] + [str(p.path) for p in refused[len(refused) // 2 :]]
    db.session.remove()
    env = {
        **os.environ,
        "RA_WORKBENCH_DATA": str(settings.data_dir),
        "DATABASE_URL": settings.database_url,
        "RA_WORKBENCH_CA_PASSPHRASE": "test-ca-passphrase",
        "RA_WORKBENCH_SECRET_KEY": "test-secret-key",
        "RA_WORKBENCH_RULES": str(REPO_ROOT / "rules"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    env.pop("REDIS_URL", None)

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (300, 300))
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "ra_workbench.app:create_app", "ingest",
         *paths, "--json"],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, preexec_fn=limits, check=False,
        timeout=900,
    )  # fmt: skip

    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["path"] for line in lines] == paths
    outcomes = {line["path"]: line["outcome"] for line in lines}
    assert outcomes.pop(str(accepted.path)) == "created"
    assert set(outcomes.values()) == {"refused"}
    assert result.returncode == 1


def test_inbox_sets_aside_a_package_that_fails_unexpectedly_and_goes_on(
    app: Flask,
    corpus: dict[str, HostilePackage],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox: Path = app.config["RA_SETTINGS"].inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    failing = inbox / "a-secret-name-0001.zip"
    shutil.copy(corpus["ok-no-documents"].path, failing)
    shutil.copy(corpus["ok-stored-not-deflated"].path, inbox / "b-valid.zip")
    real_read = inbox_module.read_package_path

    def read(path: Path, limits: Any) -> Any:
        if path == failing:
            raise RuntimeError(f"a bug, whose message quotes {path.name} and its content")
        return real_read(path, limits)

    monkeypatch.setattr(inbox_module, "read_package_path", read)
    with caplog.at_level(logging.ERROR):
        outcomes = {o.path: o for o in drain_inbox(inbox)}

    assert outcomes["a-secret-name-0001.zip"].outcome == "error"
    assert outcomes["b-valid.zip"].outcome == "created"
    assert (inbox / "refused" / "a-secret-name-0001.zip").exists()
    reason = (inbox / "refused" / "a-secret-name-0001.zip.error.txt").read_text("utf-8")
    assert reason.strip() == INTERNAL_ERROR
    assert "erreur interne" in reason
    assert (inbox / "done" / "b-valid.zip").exists()
    assert "RuntimeError" in caplog.text
    assert "secret" not in caplog.text  # neither the file's name nor the message's content
    assert list(drain_inbox(inbox)) == []


def test_cli_reports_an_unexpected_error_and_ingests_the_next_package(
    app: Flask, corpus: dict[str, HostilePackage], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ra_workbench import cli

    first, second = corpus["ok-no-documents"].path, corpus["ok-stored-not-deflated"].path
    real_read = cli.read_package_path

    def read(path: Path, limits: Any) -> Any:
        if path == first:
            raise MemoryError
        return real_read(path, limits)

    monkeypatch.setattr(cli, "read_package_path", read)
    result = CliRunner().invoke(cli.ingest_command, [str(first), str(second), "--json"])

    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [line["outcome"] for line in lines] == ["error", "created"]
    assert lines[0]["errors"] == [INTERNAL_ERROR]
    assert result.exit_code == 1


def test_inbox_refuses_a_link_to_a_package_kept_elsewhere(
    app: Flask, corpus: dict[str, HostilePackage]
) -> None:
    inbox: Path = app.config["RA_SETTINGS"].inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "lien.zip").symlink_to(corpus["ok-stored-not-deflated"].path)

    [outcome] = list(drain_inbox(inbox))

    assert outcome.outcome == "refused"
    assert "lien symbolique" in outcome.errors[0]
    assert (inbox / "refused" / "lien.zip").is_symlink()
    assert corpus["ok-stored-not-deflated"].path.exists()  # the target is left alone
    assert db.session.scalars(sa.select(Dossier)).first() is None


# -- signature events ---------------------------------------------------------------------------


def _event(**changes: Any) -> dict[str, Any]:
    event = {
        "format": "portail-signature/1",
        "order_number": "288112",
        "signer": "holder",
        "status": "signed",
        "identity_verification": "self_id_passed",
        "evidence_id": "GS-7f3a9c",
        "at": "2026-11-21T09:02:11+01:00",
    }
    return event | changes


HOSTILE_EVENTS: list[tuple[str, bytes, str]] = [
    ("deep", b"[" * 60_000, "imbriqué"),
    ("nan", json.dumps(_event()).replace('"GS-7f3a9c"', "NaN").encode(), "NaN"),
    ("not-utf8", b'{"format": "\xff"}', "UTF-8"),
    ("too-big", b" " * (65 * 1024) + b"{}", "volumineux"),
    ("list", b"[]", "objet"),
    ("order-object", json.dumps(_event(order_number={"a": 1})).encode(), "/order_number"),
    ("order-arabic-indic", json.dumps(_event(order_number="٢٨٨١١٢")).encode(), "/order_number"),
    ("signer-unknown", json.dumps(_event(signer="ami")).encode(), "/signer"),
    ("status-unknown", json.dumps(_event(status="peut-être")).encode(), "/status"),
    ("verification-unknown", json.dumps(_event(identity_verification="x")).encode(),
     "/identity_verification"),
    ("evidence-nul", json.dumps(_event(evidence_id="GS\x00")).encode(), "/evidence_id"),
    ("evidence-surrogate", json.dumps(_event(evidence_id="GS\ud800")).encode(), "/evidence_id"),
    ("evidence-201", json.dumps(_event(evidence_id="G" * 201)).encode(), "/evidence_id"),
    ("at-year-9999", json.dumps(_event(at="9999-12-31T23:59:59-01:00")).encode(), "/at"),
    ("at-february-30", json.dumps(_event(at="2026-02-30T09:02:11+01:00")).encode(), "/at"),
    ("at-number", json.dumps(_event(at=1763712131)).encode(), "/at"),
    ("missing-signer", json.dumps({k: v for k, v in _event().items() if k != "signer"}).encode(),
     "/signer"),
    ("unknown-key", json.dumps(_event(extra=1)).encode(), "/extra"),
    ("format-2", json.dumps(_event(format="portail-signature/2")).encode(), "/format"),
]  # fmt: skip


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(
    ("name", "data", "mention"), HOSTILE_EVENTS, ids=[c[0] for c in HOSTILE_EVENTS]
)
def test_hostile_signature_event_is_refused_with_400_in_french(
    client: FlaskClient, api_headers: dict[str, str], name: str, data: bytes, mention: str
) -> None:
    before = database_rows(include_audit=True)

    with bounded():
        response = client.post("/api/v1/signatures", data=data, headers=api_headers)

    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    text = " ; ".join(body["errors"])
    assert body["outcome"] == "refused"
    assert FRENCH.search(text) or "JSON" in text, text
    assert mention in text, text
    assert database_rows(include_audit=True) == before


def test_cli_reports_a_failing_signature_event_and_records_the_next(
    app: Flask,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`ra-workbench ingest-signature A B C` goes on as `ingest` does: an event that cannot
    be read, or whose processing fails unexpectedly, is reported as `error`, the next one is
    recorded, and the log names the exception's kind, never the event or its file."""
    from ra_workbench.cli import ingest_signature_command

    dossier = make_dossier(db.session)
    db.session.commit()
    unreadable = tmp_path / "secret-folder.json"
    unreadable.mkdir()  # click lets a directory through; reading it fails
    failing = tmp_path / "failing.json"
    failing.write_text(json.dumps(_event(order_number="999999", evidence_id="GS-secret")))
    valid = tmp_path / "valid.json"
    valid.write_text(json.dumps(_event(order_number=dossier.order_number)))
    real_apply = ingest_service.apply_signature_event

    def apply(session: Any, event: dict[str, Any], *, actor: str) -> Any:
        if event["order_number"] == "999999":
            raise RuntimeError(f"a bug, whose message quotes {event['evidence_id']}")
        return real_apply(session, event, actor=actor)

    monkeypatch.setattr(ingest_service, "apply_signature_event", apply)
    with caplog.at_level(logging.ERROR):
        result = CliRunner().invoke(
            ingest_signature_command, [str(unreadable), str(failing), str(valid), "--json"]
        )

    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [line["path"] for line in lines] == [str(unreadable), str(failing), str(valid)]
    assert [line["outcome"] for line in lines] == ["error", "error", "recorded"]
    assert lines[0]["errors"] == lines[1]["errors"] == [INTERNAL_ERROR_EVENT]
    assert result.exit_code == 1
    assert "IsADirectoryError" in caplog.text
    assert "RuntimeError" in caplog.text
    assert "secret" not in caplog.text
