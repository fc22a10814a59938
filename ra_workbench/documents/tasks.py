"""Document tasks run by the job queue (rq or inline)."""

from __future__ import annotations

from typing import cast

from sqlalchemy.orm import Session

from ra_workbench.documents.retention import delete_blobs, purgeable_digests
from ra_workbench.extensions import db


def delete_purged_blobs() -> dict[str, int]:
    """Remove the bytes of purged copies (after the commit that marked them)."""
    session = cast(Session, db.session)
    return delete_blobs(session, purgeable_digests(session))
