"""With Redis, a failing CA is retried by rq with back-off; every attempt is recorded."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from redis import Redis
from rq import SimpleWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from ra_workbench.certificates.models import Certificate
from ra_workbench.config import Settings
from ra_workbench.extensions import db
from ra_workbench.issuance import service
from ra_workbench.issuance.models import IssuanceRequest
from ra_workbench.jobs.queue import rq_queue
from ra_workbench.unit import unit_of_work
from tests.factories import make_approved_dossier

# A database of its own on the test Redis: other suites' workers never see these jobs.
REDIS_DB = 9


@pytest.fixture
def redis(redis_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Redis]:
    url = redis_url.rsplit("/", 1)[0] + f"/{REDIS_DB}"
    connection = Redis.from_url(url)
    connection.flushdb()
    monkeypatch.setattr(settings, "redis_url", url)
    yield connection
    connection.flushdb()


def _request(dossier_id: int) -> IssuanceRequest:
    db.session.expire_all()
    request = db.session.scalar(
        sa.select(IssuanceRequest).where(IssuanceRequest.dossier_id == dossier_id)
    )
    assert request is not None
    return request


def test_rq_retries_a_failing_ca_and_the_certificate_is_issued_once(
    app: Flask, redis: Redis, use_backend: Callable[[str], None]
) -> None:
    use_backend("failing:1")
    dossier = make_approved_dossier(db.session)
    db.session.commit()
    with unit_of_work() as session:
        service.on_approved(session, dossier, actor="op@example.fr")
    queue = rq_queue(redis)
    job_id = f"issue-certificate-{dossier.id}"
    assert queue.job_ids == [job_id]

    SimpleWorker([queue], connection=redis).work(burst=True)

    # First attempt: the CA refused; the attempt is committed, rq scheduled the retry.
    request = _request(dossier.id)
    assert request.state == "queued"
    assert request.attempts == 1
    assert "AC indisponible" in (request.last_error or "")
    job = Job.fetch(job_id, connection=redis)
    assert job.get_status() == "scheduled"
    assert job.retries_left == 2
    registry = ScheduledJobRegistry(queue=queue)
    assert job_id in registry.get_job_ids()

    # Time passes (without waiting for the back-off): the scheduler would re-queue it.
    registry.remove(job)
    queue.enqueue_job(job)
    SimpleWorker([queue], connection=redis).work(burst=True)

    request = _request(dossier.id)
    assert request.state == "issued"
    assert request.attempts == 2
    assert request.last_error is None
    assert Job.fetch(job_id, connection=redis).get_status() == "finished"
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 1


def test_after_the_last_rq_attempt_the_request_is_listed_as_failed(
    app: Flask, redis: Redis, use_backend: Callable[[str], None]
) -> None:
    use_backend("failing")
    dossier = make_approved_dossier(db.session)
    db.session.commit()
    with unit_of_work() as session:
        service.on_approved(session, dossier, actor="op@example.fr")
    queue = rq_queue(redis)
    job_id = f"issue-certificate-{dossier.id}"
    registry = ScheduledJobRegistry(queue=queue)
    for _ in range(4):  # the first run and rq's three retries
        SimpleWorker([queue], connection=redis).work(burst=True)
        job = Job.fetch(job_id, connection=redis)
        if job_id in registry.get_job_ids():
            registry.remove(job)
            queue.enqueue_job(job)

    request = _request(dossier.id)
    assert request.attempts == 4
    assert request.state == "failed"
    assert [row.request.id for row in service.requests_needing_attention(db.session)] == [
        request.id
    ]
