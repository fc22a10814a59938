"""The unit of work: commit once at the end of a request, CLI command or job.

Services flush; this commits. On failure it rolls the database back and removes every
file the failed unit added to the document store, so nothing half-done remains. Jobs
deferred during the unit are enqueued only after the commit, with ids as arguments.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from flask import current_app
from sqlalchemy.orm import Session

from ra_workbench.documents.store import DocumentStore
from ra_workbench.extensions import db

NEW_BLOBS = "ra_new_blobs"
DEFERRED_JOBS = "ra_deferred_jobs"


def store() -> DocumentStore:
    return DocumentStore(current_app.config["RA_SETTINGS"].store_dir)


def put_blob(session: Session, data: bytes) -> tuple[str, bool]:
    """Store bytes as part of the current unit (removed again if the unit fails)."""
    digest, created = store().put(data)
    if created:
        session.info.setdefault(NEW_BLOBS, []).append(digest)
    return digest, created


def defer_job(session: Session, task: str, *args: int | str, job_id: str | None = None) -> None:
    session.info.setdefault(DEFERRED_JOBS, []).append((task, args, job_id))


def discard(session: Session) -> None:
    session.rollback()
    blobs = session.info.pop(NEW_BLOBS, [])
    session.info.pop(DEFERRED_JOBS, None)
    doc_store = store()
    for digest in blobs:
        doc_store.delete(digest)


def commit(session: Session) -> None:
    session.commit()
    session.info.pop(NEW_BLOBS, None)
    jobs = session.info.pop(DEFERRED_JOBS, [])
    if jobs:
        from ra_workbench.jobs.queue import dispatch

        for task, args, job_id in jobs:
            dispatch(task, *args, job_id=job_id)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    session = cast(Session, db.session)
    try:
        yield session
    except BaseException:
        discard(session)
        raise
    commit(session)
