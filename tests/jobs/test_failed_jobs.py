"""Failed jobs are listed with a retry button: rq's failed registry, and inline failures."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import SimpleWorker

from ra_workbench.audit.models import AuditEvent
from ra_workbench.extensions import db
from ra_workbench.jobs.queue import dispatch, failed_jobs, retry_failed, rq_queue
from ra_workbench.jobs.rules import current_job_rules
from tests.factories import make_user
from tests.review.test_views import login


def _pings(token: str) -> int:
    db.session.expire_all()
    return sum(
        1
        for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.event_type == "jobs.ping")
        )
        if e.payload.get("token") == token
    )


def test_an_inline_failure_is_listed_and_retried_from_the_page(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    token = uuid.uuid4().hex[:8]
    gate = tmp_path / "gate"
    dispatch("ra_workbench.jobs.tasks:ping", token, str(gate), 0)  # times out at once
    [failure] = [j for j in failed_jobs() if j.args[:1] == (token,)]
    assert failure.backend == "inline"
    assert "TimeoutError" in failure.error_summary
    assert _pings(token) == 0

    supervisor = make_user(db.session, role="supervisor")
    db.session.commit()
    login(client, supervisor)
    page = client.get("/supervision/taches").get_data(as_text=True)
    assert failure.id in page
    assert "Relancer" in page

    gate.touch()
    response = client.post(
        "/supervision/taches/relancer",
        data={"job_id": failure.id, "backend": "inline"},
        follow_redirects=True,
    )
    assert "Tâche relancée" in response.get_data(as_text=True)
    assert _pings(token) == 1
    assert failure.id not in [j.id for j in failed_jobs()]


def test_an_rq_job_retries_with_back_off_then_lands_in_the_failed_registry(
    app: Flask, with_redis: Redis, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rules = current_job_rules()
    monkeypatch.setitem(
        app.config,
        "RA_JOB_RULES",
        dataclasses.replace(rules, retry=dataclasses.replace(rules.retry, intervals=(0, 0))),
    )
    token = uuid.uuid4().hex[:8]
    gate = tmp_path / "gate"
    dispatch("ra_workbench.jobs.tasks:ping", token, str(gate), 0, job_id=f"ping:{token}")
    queue = rq_queue(with_redis)
    SimpleWorker([queue], connection=with_redis).work(burst=True)
    job = queue.fetch_job(f"ping_{token}")
    assert job is not None
    assert job.get_status() == "failed"
    assert job.retries_left == 0  # two retries spent before giving up
    [failure] = [j for j in failed_jobs() if j.id == job.id]
    assert failure.backend == "rq"
    assert "TimeoutError" in failure.error

    gate.touch()
    retry_failed(job.id, "rq")
    SimpleWorker([queue], connection=with_redis).work(burst=True)
    assert job.get_status(refresh=True) == "finished"
    assert _pings(token) == 1
    assert job.id not in [j.id for j in failed_jobs()]
