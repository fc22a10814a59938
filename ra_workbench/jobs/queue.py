"""Dispatch named tasks: to rq when REDIS_URL is set, inline otherwise.

A task is a plain function `f(*ids)` that does one unit of work through the services;
it is named "module:function" so rq workers import it themselves.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from flask import current_app

log = logging.getLogger(__name__)

QUEUE_NAME = "ra-workbench"
RETRY_INTERVALS = [10, 60, 300]


def resolve(task: str) -> Callable[..., Any]:
    module_name, _, func_name = task.partition(":")
    if not module_name.startswith("ra_workbench.") or not func_name:
        raise ValueError(f"unknown task {task!r}")
    func: Callable[..., Any] = getattr(importlib.import_module(module_name), func_name)
    return func


def redis_connection() -> Any:
    from redis import Redis

    url = current_app.config["RA_SETTINGS"].redis_url
    return Redis.from_url(url) if url else None


def rq_queue() -> Any:
    from rq import Queue

    return Queue(QUEUE_NAME, connection=redis_connection())


def dispatch(task: str, *args: Any, job_id: str | None = None) -> None:
    """Run or enqueue a task. Called after the commit of the unit that asked for it."""
    resolve(task)  # fail early on a typo, in the caller
    settings = current_app.config["RA_SETTINGS"]
    if settings.redis_url:
        from rq import Retry

        queue = rq_queue()
        if job_id is not None:
            existing = queue.fetch_job(job_id)
            if existing is not None and existing.get_status(refresh=True) in (
                "queued",
                "deferred",
                "scheduled",
                "started",
            ):
                return
        queue.enqueue(
            "ra_workbench.jobs.runner.run_task",
            task,
            *args,
            job_id=job_id,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=600,
            result_ttl=3600,
            failure_ttl=30 * 24 * 3600,
        )
        return
    from ra_workbench.jobs.runner import run_in_context

    try:
        run_in_context(task, *args)
    except Exception:
        # Inline mode: the caller's work is already committed; the task's own state
        # (e.g. an issuance request marked failed) is what operators see and retry.
        log.exception("inline task %s failed", task)
