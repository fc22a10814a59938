"""Two operators racing for the same dossier on PostgreSQL: exactly one gets it."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from flask import Flask

from ra_workbench.accounts.models import User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.review.claims import claim
from ra_workbench.review.common import ReviewError
from ra_workbench.unit import unit_of_work
from tests.factories import make_dossier, make_user


@pytest.mark.postgres_only
@pytest.mark.parametrize("attempt", range(3))
def test_two_operators_racing_for_a_dossier_exactly_one_wins(app: Flask, attempt: int) -> None:
    operators = [make_user(db.session), make_user(db.session)]
    dossier = make_dossier(db.session)
    ids = [u.id for u in operators]
    dossier_id = dossier.id
    db.session.commit()

    barrier = threading.Barrier(len(ids))
    outcomes: dict[int, str] = {}

    def race(user_id: int) -> None:
        # Each thread has its own application context, hence its own session/connection.
        with app.app_context():
            try:
                with unit_of_work() as session:
                    user = session.get(User, user_id)
                    assert user is not None
                    session.get(Dossier, dossier_id)
                    barrier.wait(timeout=10)
                    claim(session, dossier_id, user, claim_minutes=60)
                outcomes[user_id] = "won"
            except ReviewError as exc:
                outcomes[user_id] = f"lost: {exc}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=race, args=(uid,)) for uid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    winners = [uid for uid, outcome in outcomes.items() if outcome == "won"]
    assert len(outcomes) == 2, outcomes
    assert len(winners) == 1, outcomes
    loser = next(uid for uid in ids if uid not in winners)
    assert "déjà pris en charge" in outcomes[loser]
    db.session.expire_all()
    assert db.session.get(Dossier, dossier_id).claimed_by_id == winners[0]  # type: ignore[union-attr]
    claims = db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.event_type == "review.claimed")
    )
    assert claims == 1
