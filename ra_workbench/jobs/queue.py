"""Dispatch named tasks: to rq when REDIS_URL is set, inline otherwise; list and retry
the ones that failed.

A task is a plain function `f(*args)` (ids, ISO dates) that does one unit of work through
the services; it is named "module:function" so rq workers import it themselves.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import traceback
from typing import Any

from flask import Flask, current_app

from ra_workbench import unit
from ra_workbench.jobs.failures import FailedJob, InlineFailureStore
from ra_workbench.jobs.rules import current_job_rules
from ra_workbench.jobs.runner import resolve, run_in_context

log = logging.getLogger(__name__)

QUEUE_NAME = "ra-workbench"
RUNNER = "ra_workbench.worker.run_task"
ACTIVE_STATES = ("queued", "deferred", "scheduled", "started")
_JOB_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def redis_connection() -> Any:
    from redis import Redis  # noqa: PLC0415 - redis client only when a queue is configured (tests and inline mode run without it)

    url = current_app.config["RA_SETTINGS"].redis_url
    return Redis.from_url(url) if url else None


def rq_queue(connection: Any = None) -> Any:
    from rq import Queue  # noqa: PLC0415 - rq only when a queue is configured

    return Queue(QUEUE_NAME, connection=connection or redis_connection())


def init_app(app: Flask) -> None:
    """Jobs deferred by a unit of work are dispatched once it has committed."""
    unit.after_commit(dispatch_deferred)


def dispatch_deferred(collected: dict[str, Any]) -> None:
    jobs: list[unit.DeferredJob] = collected.get(unit.DEFERRED_JOBS, [])
    for task, args, job_id in jobs:
        dispatch(task, *args, job_id=job_id)


def _retry_policy() -> tuple[tuple[int, ...], int]:
    rules = current_job_rules().retry
    return rules.intervals, rules.job_timeout_seconds


def dispatch(task: str, *args: Any, job_id: str | None = None) -> None:
    """Run or enqueue a task. Called after the commit of the unit that asked for it.

    With a job id, a job already waiting or running under that id is not enqueued again:
    the id names one occurrence of the work (« the re-check of dossier 12 on 21/11 »)."""
    resolve(task)  # fail early on a typo, in the caller
    settings = current_app.config["RA_SETTINGS"]
    if settings.redis_url:
        enqueue(task, *args, job_id=job_id)
        return
    run_inline(task, *args, job_id=job_id)


def rq_job_id(name: str) -> str:
    """rq 2.x accepts only letters, digits, `_` and `-` in a job id: « recheck:2026-11-21:12 »
    becomes « recheck_2026-11-21_12 » (same name, same id)."""
    return _JOB_ID_UNSAFE.sub("_", name)[:200]


def enqueue(task: str, *args: Any, job_id: str | None = None, connection: Any = None) -> Any:
    from rq import Retry  # noqa: PLC0415 - rq only when a queue is configured

    queue = rq_queue(connection)
    job_id = rq_job_id(job_id) if job_id is not None else None
    if job_id is not None:
        existing = queue.fetch_job(job_id)
        if existing is not None and existing.get_status(refresh=True) in ACTIVE_STATES:
            return existing
    intervals, timeout = _retry_policy()
    return queue.enqueue(
        RUNNER,
        task,
        *args,
        job_id=job_id,
        retry=Retry(max=len(intervals), interval=list(intervals)) if intervals else None,
        job_timeout=timeout,
        result_ttl=24 * 3600,
        failure_ttl=30 * 24 * 3600,
        description=f"{task}{args!r}",
    )


def run_inline(task: str, *args: Any, job_id: str | None = None) -> None:
    try:
        run_in_context(task, *args)
    except Exception as exc:
        # Inline mode: the caller's work is already committed; the failure is kept where
        # the failed-jobs screen lists it, with a retry button (as rq's registry is).
        log.exception("inline task %s failed", task)
        inline_failures().add(task, args, job_id, exc, traceback.format_exc())


# --- failed jobs ----------------------------------------------------------------------


def inline_failures() -> InlineFailureStore:
    return InlineFailureStore(current_app.config["RA_SETTINGS"].data_dir / "jobs" / "failed")


def failed_jobs(limit: int = 200) -> list[FailedJob]:
    """Failed jobs, newest first: rq's FailedJobRegistry and the inline failures."""
    jobs: list[FailedJob] = list(inline_failures().list())
    if current_app.config["RA_SETTINGS"].redis_url:
        from rq.job import Job  # noqa: PLC0415 - rq only when a queue is configured
        from rq.registry import FailedJobRegistry  # noqa: PLC0415 - rq only when a queue is configured

        connection = redis_connection()
        registry = FailedJobRegistry(queue=rq_queue(connection))
        for job_id in registry.get_job_ids(0, limit - 1):
            job = Job.fetch(job_id, connection=connection) if job_id else None
            if job is None:
                continue
            task, *rest = job.args or ("?",)
            result = job.latest_result()
            error = (result.exc_string if result is not None else None) or job.exc_info or ""
            jobs.append(
                FailedJob(
                    id=job.id,
                    task=str(task),
                    args=tuple(rest),
                    error=str(error),
                    failed_at=_aware(job.ended_at),
                    backend="rq",
                )
            )
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    jobs.sort(key=lambda j: j.failed_at or epoch, reverse=True)
    return jobs[:limit]


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


class UnknownFailedJob(LookupError):
    """No failed job with that id (already retried, or expired)."""


def retry_failed(job_id: str, backend: str) -> None:
    """Put a failed job back to work: rq re-queues it; an inline one runs again now."""
    if backend == "rq":
        from rq.registry import FailedJobRegistry  # noqa: PLC0415 - rq only when a queue is configured

        registry = FailedJobRegistry(queue=rq_queue())
        if job_id not in registry.get_job_ids():
            raise UnknownFailedJob(job_id)
        registry.requeue(job_id)
        return
    failure = inline_failures().pop(job_id)
    if failure is None:
        raise UnknownFailedJob(job_id)
    run_inline(failure.task, *failure.args)
