"""What the engineer on call reads: with RA_WORKBENCH_LOG_FORMAT=json, one JSON event per
line carrying the request id, the signed-in staff member and the dossier — and nothing a
document says; readable text in the demo."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from flask import Flask, g

from ra_workbench import logs
from ra_workbench.app import create_app
from ra_workbench.config import Settings
from ra_workbench.extensions import db
from ra_workbench.jobs.runner import _dossier_of, resolve
from tests.auth import sign_in
from tests.factories import make_dossier, make_user


def _events(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _written() -> io.StringIO:
    """What the workbench's log handler writes from now on (it writes to the stderr of the
    moment it was configured: a command's own output is never mixed with it)."""
    buffer = io.StringIO()
    [handler] = [h for h in logging.getLogger().handlers if getattr(h, "_ra_workbench", False)]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    return buffer


@pytest.fixture
def json_app(app: Flask, settings: Settings) -> Iterator[Flask]:
    """The same database, an app configured as production logs."""
    yield create_app(
        dataclasses.replace(settings, log_format="json"), TESTING=True, WTF_CSRF_ENABLED=False
    )
    logs.configure("text")


def test_a_dossier_page_logs_one_json_event_naming_the_request_the_operator_and_the_dossier(
    json_app: Flask,
) -> None:
    with json_app.app_context():
        operator = make_user(db.session)
        dossier = make_dossier(db.session)
        db.session.commit()
        operator_id, dossier_id = operator.id, dossier.id
        holder_name = dossier.holder.last_name if dossier.holder else "DURAND"
        client = json_app.test_client()
        sign_in(client, operator)
        g.pop("_login_user", None)
        written = _written()

        page = client.get(
            f"/validation/dossiers/{dossier_id}", headers={"X-Request-ID": "req-0123456789"}
        )
    assert page.status_code == 200
    assert page.headers["X-Request-ID"] == "req-0123456789"
    err = written.getvalue()
    [access] = [e for e in _events(err) if e.get("logger") == "ra_workbench.access"]
    assert access["message"] == "requête traitée"
    assert access["request_id"] == "req-0123456789"
    assert access["user_id"] == operator_id
    assert access["dossier_id"] == dossier_id
    assert access["status"] == 200
    assert access["rule"] == "/validation/dossiers/<int:dossier_id>"
    assert access["level"] == "INFO"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", str(access["time"]))
    # The dossier's people are on the page, never in the logs.
    assert holder_name not in err


def test_a_request_id_that_is_not_one_is_replaced(
    json_app: Flask,
) -> None:
    written = _written()
    with json_app.app_context():
        answer = json_app.test_client().get(
            "/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"}
        )
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])
    [access] = [e for e in _events(written.getvalue()) if e.get("logger") == "ra_workbench.access"]
    assert access["request_id"] == answer.headers["X-Request-ID"]
    assert "user_id" not in access


def test_a_jobs_events_name_the_task_and_its_dossier() -> None:
    logs.configure("json")
    written = _written()
    try:
        task = "ra_workbench.issuance.tasks:issue_certificate"
        with logs.bound(task=task, job_id="rq-job-1", dossier_id=_dossier_of(resolve(task), (7,))):
            logging.getLogger("ra_workbench.issuance.service").warning("CA backend failed")
        logging.getLogger("ra_workbench").warning("after the job")
    finally:
        logs.configure("text")
    during, after = _events(written.getvalue())
    assert during["task"] == "ra_workbench.issuance.tasks:issue_certificate"
    assert during["job_id"] == "rq-job-1"
    assert during["dossier_id"] == 7
    assert during["logger"] == "ra_workbench.issuance.service"
    assert "task" not in after


def test_the_demo_reads_text_and_an_unknown_format_is_refused_in_french() -> None:
    logs.configure("text")
    written = _written()
    logging.getLogger("ra_workbench.demo").warning("Démo prête")
    line = written.getvalue().strip().splitlines()[-1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d [\d:,]+ WARNING ra_workbench\.demo: Démo prête", line)
    with pytest.raises(ValueError, match="format de journal inconnu : 'xml' \\(text ou json\\)"):
        logs.configure("xml")
    logs.configure("text")  # back to stderr for the tests that follow
