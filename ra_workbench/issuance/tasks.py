"""The issuance job: one unit of work (ra_workbench.jobs.runner), the dossier id as argument.

With Redis, rq retries a failed attempt with back-off (ra_workbench.jobs.queue): the job
commits the attempt (count and error) and then raises so that rq schedules the retry. The
last attempt, and every inline attempt, ends with the request marked failed — visible in
the failed list with its retry button.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy.orm import Session

from ra_workbench.extensions import db
from ra_workbench.issuance import service
from ra_workbench.notify.tasks import retries_left


class IssuanceNotDone(Exception):
    """Raised after the failed attempt is committed, so that rq retries with back-off."""


def issue_certificate(dossier_id: int) -> str:
    session = cast(Session, db.session)
    retry_later = retries_left()
    request = service.issue_certificate(session, dossier_id, retry_later=retry_later)
    if retry_later and request.state != service.RequestState.ISSUED:
        session.commit()
        raise IssuanceNotDone(f"émission du dossier {dossier_id} : {request.last_error}")
    return request.state
