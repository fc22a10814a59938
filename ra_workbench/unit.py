"""The unit of work: commit once at the end of a request, CLI command or job.

Services flush; this commits, or rolls back on failure. What a unit collects on the way
(`remember`) is handed to the listeners registered for that outcome: the job queue
dispatches the deferred jobs after a commit (ra_workbench/jobs/queue.py), the document
store removes the files of a unit that failed (ra_workbench/documents/store.py). This module
knows neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy.orm import Session

from ra_workbench.db import write_intent
from ra_workbench.extensions import db

DEFERRED_JOBS = "ra_deferred_jobs"
_COLLECTED = "ra_unit_collected"  # the session.info keys `remember` wrote during this unit

DeferredJob = tuple[str, tuple[Any, ...], str | None]
UnitListener = Callable[[dict[str, Any]], None]
_after_commit: list[UnitListener] = []
_after_discard: list[UnitListener] = []


def after_commit(listener: UnitListener) -> None:
    """Register what runs once a unit has committed; it receives what the unit collected,
    by key (`DEFERRED_JOBS`: the jobs to dispatch)."""
    if listener not in _after_commit:
        _after_commit.append(listener)


def after_discard(listener: UnitListener) -> None:
    """Register what runs once a unit has rolled back (the document store removes the files
    the failed unit stored)."""
    if listener not in _after_discard:
        _after_discard.append(listener)


def remember(session: Session, key: str, item: Any) -> None:
    """Collect `item` under `key` for the unit's listeners."""
    session.info.setdefault(key, []).append(item)
    session.info.setdefault(_COLLECTED, set()).add(key)


def defer_job(session: Session, task: str, *args: int | str, job_id: str | None = None) -> None:
    remember(session, DEFERRED_JOBS, (task, args, job_id))


def discard(session: Session) -> None:
    session.rollback()
    info = _pop_unit_info(session)
    for listener in _after_discard:
        listener(info)


def commit(session: Session) -> None:
    session.commit()
    info = _pop_unit_info(session)
    for listener in _after_commit:
        listener(info)


def _pop_unit_info(session: Session) -> dict[str, Any]:
    keys = session.info.pop(_COLLECTED, set())
    return {key: session.info.pop(key, []) for key in keys}


@contextmanager
def unit_of_work() -> Iterator[Session]:
    session = cast(Session, db.session)
    token = write_intent.set(True)  # on SQLite, a unit that begins here takes the write lock
    try:
        try:
            yield session
        except BaseException:
            discard(session)
            raise
        commit(session)
    finally:
        write_intent.reset(token)
