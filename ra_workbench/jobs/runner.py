"""Entry point of every job, inline or in an rq worker: one unit of work per task."""

from __future__ import annotations

from typing import Any

from flask import Flask, has_app_context

_worker_app: Flask | None = None


def run_in_context(task: str, *args: Any) -> Any:
    from ra_workbench.jobs.queue import resolve
    from ra_workbench.unit import unit_of_work

    func = resolve(task)
    with unit_of_work():
        return func(*args)


def run_task(task: str, *args: Any) -> Any:
    """What rq executes: builds the app once per worker process, then runs the task."""
    global _worker_app  # noqa: PLW0603 - one app per worker process
    if has_app_context():
        return run_in_context(task, *args)
    if _worker_app is None:
        from ra_workbench.app import create_app

        _worker_app = create_app()
    with _worker_app.app_context():
        return run_in_context(task, *args)
