"""The unit of work: commit once at the end of a request, CLI command or job.

Services flush; this commits. On failure it rolls the database back and removes every
file the failed unit added to the document store (through the listener the store
registers), so nothing half-done remains. Jobs
deferred during the unit are handed, after the commit, to whoever registered with
`after_commit` (the job queue does, in ra_workbench/jobs/queue.py): this module knows no
queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy.orm import Session

from ra_workbench.db import write_intent
from ra_workbench.extensions import db

NEW_BLOBS = "ra_new_blobs"
DEFERRED_JOBS = "ra_deferred_jobs"

DeferredJob = tuple[str, tuple[Any, ...], str | None]
UnitListener = Callable[[dict[str, Any]], None]
_after_commit: list[UnitListener] = []
_after_discard: list[UnitListener] = []


def after_commit(listener: UnitListener) -> None:
    """Register what runs once a unit has committed; it receives what the unit collected
    (`DEFERRED_JOBS`: the jobs to dispatch, `NEW_BLOBS`: the files it stored)."""
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
    return {key: session.info.pop(key, []) for key in (NEW_BLOBS, DEFERRED_JOBS)}


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
