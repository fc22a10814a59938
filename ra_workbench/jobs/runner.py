"""Every job, inline or in an rq worker, runs as one unit of work (ra_workbench/worker.py is
the rq entry point, which builds the app)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from ra_workbench import logs
from ra_workbench.unit import unit_of_work


def resolve(task: str) -> Callable[..., Any]:
    """The function named "ra_workbench.<module>:<function>" (workers import it by name)."""
    module_name, _, func_name = task.partition(":")
    if not module_name.startswith("ra_workbench.") or not func_name:
        raise ValueError(f"unknown task {task!r}")
    func: Callable[..., Any] = getattr(importlib.import_module(module_name), func_name)
    return func


def _job_id() -> str | None:
    """The rq job being run, when there is one (inline jobs have none)."""
    from rq import get_current_job  # noqa: PLC0415 - rq only when a queue is configured

    job = get_current_job()
    return job.id if job is not None else None


def _dossier_of(func: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """The dossier a task is about, when its first parameters name one."""
    try:
        names = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return None
    if "dossier_id" in names and names.index("dossier_id") < len(args):
        return args[names.index("dossier_id")]
    return None


def run_in_context(task: str, *args: Any) -> Any:
    func = resolve(task)
    # Every log event of the job says which job, which task and which dossier.
    context = logs.bound(task=task, job_id=_job_id(), dossier_id=_dossier_of(func, args))
    with context, unit_of_work():
        return func(*args)
