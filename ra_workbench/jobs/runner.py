"""Every job, inline or in an rq worker, runs as one unit of work (ra_workbench/worker.py is
the rq entry point, which builds the app)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ra_workbench.unit import unit_of_work


def resolve(task: str) -> Callable[..., Any]:
    """The function named "ra_workbench.<module>:<function>" (workers import it by name)."""
    module_name, _, func_name = task.partition(":")
    if not module_name.startswith("ra_workbench.") or not func_name:
        raise ValueError(f"unknown task {task!r}")
    func: Callable[..., Any] = getattr(importlib.import_module(module_name), func_name)
    return func


def run_in_context(task: str, *args: Any) -> Any:
    func = resolve(task)
    with unit_of_work():
        return func(*args)
