"""Claims on revocation requests: held by one person for a while, taken over once expired,
given back to the queue in the state it came from."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from ra_workbench.db import utcnow
from ra_workbench.extensions import db
from ra_workbench.revocation import service
from tests.factories import make_user
from tests.revocation.builders import issued


def test_a_claim_held_by_someone_else_is_refused_until_it_expires(app: Flask) -> None:
    _dossier, certificate = issued(db.session)
    opener, first, second = (make_user(db.session) for _ in range(3))
    request = service.open_by_staff(
        db.session,
        certificate.id,
        opener,
        ground="information_changed",
        comment="Le porteur a changé de nom (mariage)",
    )
    earlier = utcnow() - dt.timedelta(minutes=90)
    service.claim(db.session, request.id, first, claim_minutes=60, now=earlier)

    with pytest.raises(service.RevocationError, match="prise en charge par"):
        service.claim(db.session, request.id, second, claim_minutes=120)
    # Past its 60 minutes, the claim is free for the next person.
    service.claim(db.session, request.id, second, claim_minutes=60)
    assert request.claimed_by_id == second.id
    with pytest.raises(service.RevocationError, match="prise en charge par"):
        service.decide(
            db.session,
            request.id,
            first,
            decision="refuse",
            comment="Je refuse sans tenir la demande",
            claim_minutes=60,
        )

    with pytest.raises(service.RevocationError, match="a expiré"):
        service.decide(
            db.session,
            request.id,
            second,
            decision="revoke",
            comment="Changement de nom confirmé",
            claim_minutes=60,
            now=utcnow() + dt.timedelta(minutes=61),
        )
    service.release(db.session, request.id, second)
    assert (request.state, request.claimed_by_id) == ("awaiting_second", None)
    with pytest.raises(service.RevocationError, match="Prenez la demande en charge"):
        service.decide(
            db.session,
            request.id,
            second,
            decision="revoke",
            comment="Changement de nom confirmé",
            claim_minutes=60,
        )
