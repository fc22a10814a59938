"""Jobs against the real Redis of the test run (RA_TEST_REDIS_URL; its absence is an error,
never a skip), and the checks' stand-in extractor for re-checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from flask import Flask

from ra_workbench.config import Settings
from ra_workbench.jobs.rules import current_job_rules
from tests.checks.test_service import extractor  # noqa: F401 - shared fixture


@pytest.fixture
def fast_retries(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without delay, so a retried job runs in the same burst."""
    rules = current_job_rules()
    fast = dataclasses.replace(rules, retry=dataclasses.replace(rules.retry, intervals=(0, 0, 0)))
    monkeypatch.setitem(app.config, "RA_JOB_RULES", fast)


@pytest.fixture
def with_redis(
    app: Flask, settings: Settings, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[object]:
    """The app dispatching to rq on a clean Redis database."""
    from redis import Redis

    connection = Redis.from_url(redis_url)
    connection.flushdb()
    monkeypatch.setattr(settings, "redis_url", redis_url)
    yield connection
    connection.flushdb()
