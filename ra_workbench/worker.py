"""What rq executes in a worker process: builds the app once, then runs the task as one unit
of work (ra_workbench/jobs/runner.py)."""

from __future__ import annotations

from typing import Any

from flask import Flask, has_app_context

from ra_workbench.app import create_app
from ra_workbench.jobs.runner import run_in_context

_worker_app: Flask | None = None


def run_task(task: str, *args: Any) -> Any:
    global _worker_app  # noqa: PLW0603 - one app per worker process
    if has_app_context():
        return run_in_context(task, *args)
    if _worker_app is None:
        _worker_app = create_app()
    with _worker_app.app_context():
        return run_in_context(task, *args)
