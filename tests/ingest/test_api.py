"""The portal's API: packages and signature events in, order status out, behind a token."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from werkzeug.exceptions import Conflict

from ra_workbench import extraction
from ra_workbench.checks.models import CheckRun
from ra_workbench.config import Settings
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.jobs import queue
from ra_workbench.jobs.queue import rq_queue
from ra_workbench.synth.packages import generate_broken_package, generate_dossier

TODAY = dt.date(2026, 11, 20)


def zip_directory(path: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def package_zip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("api-packages")
    return zip_directory(generate_dossier(out, seed=21, order_number="500001", today=TODAY))


def post_package(client: FlaskClient, data: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/dossiers",
        data={"package": (io.BytesIO(data), "dossier.zip")},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_portal_without_a_token_is_turned_away(client: FlaskClient, package_zip: bytes) -> None:
    response = post_package(client, package_zip, {})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert body["code"] == "unauthorized"
    assert body["status"] == 401
    assert "jeton" in body["detail"]


def test_portal_with_a_wrong_token_is_turned_away(client: FlaskClient, package_zip: bytes) -> None:
    response = post_package(client, package_zip, {"Authorization": "Bearer not-the-token"})
    assert response.status_code == 401


def test_portal_uploads_a_package_then_the_same_again_as_a_duplicate(
    client: FlaskClient, api_headers: dict[str, str], package_zip: bytes
) -> None:
    first = post_package(client, package_zip, api_headers)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["outcome"] == "created"
    again = post_package(client, package_zip, api_headers)
    assert again.status_code == 200
    assert again.get_json()["outcome"] == "duplicate"


def test_oversized_upload_is_refused_with_413(
    app: Flask, client: FlaskClient, api_headers: dict[str, str]
) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = post_package(client, b"\0" * (limit + 1), api_headers)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "payload_too_large"
    assert "envoi trop volumineux" in response.get_json()["detail"]


def test_zip_with_traversal_entries_is_refused_with_400(
    client: FlaskClient, api_headers: dict[str, str], tmp_path: Path
) -> None:
    zipped = generate_broken_package(tmp_path, "zip_slip", seed=1)
    response = post_package(client, zipped.read_bytes(), api_headers)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "invalid_content"
    assert body["title"] == "Contenu refusé"
    assert body["type"] == "urn:ra-workbench:problem:invalid_content"
    assert body["outcome"] == "refused"
    assert any("chemin dangereux" in e for e in body["errors"])
    assert "chemin dangereux" in body["detail"]


def test_an_empty_upload_is_refused_with_its_own_code(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    response = client.post("/api/v1/dossiers", data=b"", headers=api_headers)
    assert response.status_code == 400
    assert response.get_json()["code"] == "empty_package"
    assert "aucun paquet reçu" in response.get_json()["errors"][0]


def test_an_older_revision_is_a_conflict_by_its_code_not_its_wording(
    client: FlaskClient, api_headers: dict[str, str], tmp_path: Path
) -> None:
    second = generate_dossier(
        tmp_path / "r2", seed=22, order_number="500002", today=TODAY, revision=2
    )
    first = generate_dossier(tmp_path / "r1", seed=22, order_number="500002", today=TODAY)
    assert post_package(client, zip_directory(second), api_headers).status_code == 201
    response = post_package(client, zip_directory(first), api_headers)
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "stale_revision"
    assert body["order_number"] == "500002"
    assert body["errors"] == ["révision 1 antérieure à la révision 2 déjà reçue"]


# A database of its own on the test Redis: no other suite's worker takes these jobs.
API_REDIS_DB = 11


@pytest.fixture
def api_queue(
    settings: Settings, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Redis]:
    """The app dispatching to rq, on a Redis database of its own, emptied before and after."""
    url = redis_url.rsplit("/", 1)[0] + f"/{API_REDIS_DB}"
    connection = Redis.from_url(url)
    connection.flushdb()
    monkeypatch.setattr(settings, "redis_url", url)
    yield connection
    connection.flushdb()


def test_with_a_queue_the_api_answers_once_stored_and_the_checks_wait_in_rq(
    client: FlaskClient,
    api_headers: dict[str, str],
    package_zip: bytes,
    api_queue: Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_reading_in_the_request(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a document was read while the portal waited")

    monkeypatch.setattr(extraction, "extract_document", no_reading_in_the_request)
    committed_when_enqueued: list[int] = []
    enqueue = queue.enqueue

    def enqueue_after_commit(task: str, *args: Any, **kwargs: Any) -> Any:
        with db.engine.connect() as other:  # another connection sees only what is committed
            committed_when_enqueued.append(
                other.scalar(sa.select(sa.func.count()).select_from(Dossier)) or 0
            )
        return enqueue(task, *args, **kwargs)

    monkeypatch.setattr(queue, "enqueue", enqueue_after_commit)
    response = post_package(client, package_zip, api_headers)
    assert response.status_code == 201, response.get_json()
    dossier = db.session.scalar(sa.select(Dossier).where(Dossier.order_number == "500001"))
    assert dossier is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckRun)) == 0
    checks = [
        job
        for job in rq_queue(api_queue).get_jobs()
        if job.args[0] == "ra_workbench.checks.tasks:run_checks"
    ]
    assert [(job.args[1:], job.get_status()) for job in checks] == [
        ((dossier.id, "ingest"), "queued")
    ]
    assert committed_when_enqueued
    assert min(committed_when_enqueued) == 1


def test_status_reports_the_order_to_the_portal(
    client: FlaskClient, api_headers: dict[str, str], package_zip: bytes
) -> None:
    post_package(client, package_zip, api_headers)
    response = client.get("/api/v1/dossiers/500001/status", headers=api_headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["order_number"] == "500001"
    assert body["status"] == "pending"
    assert body["certificates"] == "0 / 1"
    unknown = client.get("/api/v1/dossiers/999999/status", headers=api_headers)
    assert unknown.status_code == 404
    assert unknown.mimetype == "application/problem+json"
    assert unknown.get_json()["code"] == "unknown_order"
    assert unknown.get_json()["detail"] == "commande inconnue : 999999"


def signature_event(signer: str, status: str, at: str, order: str = "500001") -> bytes:
    return json.dumps(
        {
            "format": "portail-signature/1",
            "order_number": order,
            "signer": signer,
            "status": status,
            "identity_verification": "self_id_passed" if status == "signed" else "not_done",
            "evidence_id": f"GS-{signer}-{at}",
            "at": at,
        }
    ).encode()


def test_latest_signature_event_per_signer_stands_even_out_of_order(
    client: FlaskClient, api_headers: dict[str, str], package_zip: bytes
) -> None:
    from ra_workbench.dossiers.models import Dossier
    from ra_workbench.extensions import db
    from ra_workbench.ingest.service import latest_signatures

    post_package(client, package_zip, api_headers)
    late = signature_event("holder", "signed", "2026-11-21T10:00:00+01:00")
    early = signature_event("holder", "expired", "2026-11-21T09:00:00+01:00")
    assert (
        client.post("/api/v1/signatures", data=late, headers=api_headers).get_json()["outcome"]
        == "recorded"
    )
    assert (
        client.post("/api/v1/signatures", data=early, headers=api_headers).get_json()["outcome"]
        == "superseded"
    )
    dossier = db.session.query(Dossier).one()
    assert latest_signatures(dossier)["holder"].status == "signed"


def test_signature_for_an_unknown_order_is_a_clear_error(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/signatures",
        data=signature_event("holder", "signed", "2026-11-21T10:00:00+01:00", order="777"),
        headers=api_headers,
    )
    assert response.status_code == 404
    assert response.get_json()["code"] == "unknown_order"
    assert "commande inconnue" in response.get_json()["errors"][0]


def test_an_unexpected_failure_answers_json_500_and_logs_no_package_name(
    client: FlaskClient,
    api_headers: dict[str, str],
    package_zip: bytes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ra_workbench.portal import views

    def read(data: bytes, name: str, limits: Any) -> Any:
        raise RuntimeError(f"a bug, whose message quotes {name}")

    monkeypatch.setattr(views, "read_package_bytes", read)
    with caplog.at_level(logging.ERROR):
        response = client.post(
            "/api/v1/dossiers",
            data={"package": (io.BytesIO(package_zip), "secret-name.zip")},
            headers=api_headers,
            content_type="multipart/form-data",
        )

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "internal_error"
    assert response.get_json()["detail"] == "erreur interne"
    assert "RuntimeError" in caplog.text
    assert "secret" not in caplog.text


def test_status_failure_answers_json_500_and_http_errors_keep_their_status(
    client: FlaskClient, api_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ra_workbench.portal import views

    def failing(order_number: str) -> Any:
        raise LookupError(order_number)

    monkeypatch.setattr(views, "order_status", failing)
    response = client.get("/api/v1/dossiers/500001/status", headers=api_headers)
    assert response.status_code == 500
    assert response.get_json()["code"] == "internal_error"

    def conflict(order_number: str) -> Any:
        raise Conflict

    monkeypatch.setattr(views, "order_status", conflict)
    answer = client.get("/api/v1/dossiers/500001/status", headers=api_headers)
    assert answer.status_code == 409
    assert answer.mimetype == "application/problem+json"
    assert answer.get_json()["code"] == "conflict"
