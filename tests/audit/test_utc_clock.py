"""The audit clock is UTC (REQUIREMENTS 13): an entry's time is stored as a UTC moment,
read back from the database as timezone-aware UTC whatever the session's time zone, and the
supervisor's trail page prints it in UTC and says so (templates/audit/trail.html, `utc`).

The story: Olivia approves order 300002 at half past midnight in Paris on 15 July 2026, which
is 22:30:15 UTC on 14 July. The trail must say 14/07/2026 22:30:15 UTC, not the Paris day."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ra_workbench.audit import service
from ra_workbench.audit.models import AuditEvent
from ra_workbench.extensions import db
from ra_workbench.unit import unit_of_work
from tests.factories import make_user
from tests.review.test_views import login

# 00:30:15 on 15 July in Paris (summer time, UTC+2): another day than in UTC.
APPROVED_AT = dt.datetime(2026, 7, 14, 22, 30, 15, tzinfo=dt.UTC)
ORDER = "300002"


@pytest.fixture
def approval_entry(app: Flask, monkeypatch: pytest.MonkeyPatch) -> int:
    """Olivia's approval, written to the trail by the application's own clock, frozen."""
    with monkeypatch.context() as frozen:
        frozen.setattr(service, "utcnow", lambda: APPROVED_AT)
        with unit_of_work() as session:
            entry = service.record(
                session,
                "dossier.transition",
                actor="olivia.perrin@certeurope.test",
                order_number=ORDER,
                payload={"transition": "approve"},
            )
            seq = entry.seq
    db.session.remove()  # nothing read below comes from the session that wrote it
    return seq


def _stored_utc_wall_time(seq: int) -> str:
    """The column's value as the database holds it, in UTC, without the ORM type:
    « YYYY-MM-DD HH:MM:SS »."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        # timestamptz: the moment itself; its UTC wall time, whatever the session's zone.
        sql = "SELECT at AT TIME ZONE 'UTC' FROM audit_events WHERE seq = :seq"
        value = db.session.execute(sa.text(sql), {"seq": seq}).scalar_one()
        assert isinstance(value, dt.datetime)
        assert value.tzinfo is None  # `AT TIME ZONE` gives the wall time in that zone
        return value.isoformat(sep=" ")[:19]
    # SQLite keeps no offset: the text itself must be the UTC wall time.
    raw = db.session.execute(
        sa.text("SELECT at FROM audit_events WHERE seq = :seq"), {"seq": seq}
    ).scalar_one()
    assert isinstance(raw, str)
    assert "+" not in raw  # no offset of another zone is stored
    return raw[:19]


def test_an_audit_entry_is_stored_and_read_back_as_utc(app: Flask, approval_entry: int) -> None:
    assert _stored_utc_wall_time(approval_entry) == "2026-07-14 22:30:15"

    entry = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.seq == approval_entry)).one()
    assert entry.at.tzinfo is not None
    assert entry.at.utcoffset() == dt.timedelta(0)
    assert entry.at.tzname() == "UTC"
    assert (entry.at.date(), entry.at.time()) == (dt.date(2026, 7, 14), dt.time(22, 30, 15))
    assert entry.at == APPROVED_AT

    # The moment read back is the one the chain hashed: the trail still verifies.
    with unit_of_work() as session:
        assert service.verify(session).ok


@pytest.mark.postgres_only
def test_a_paris_database_session_still_reads_the_entry_in_utc(
    app: Flask, approval_entry: int
) -> None:
    """PostgreSQL hands a timestamptz over in the session's time zone (SQLite has none):
    an application whose connection is in Europe/Paris still reads 22:30:15 UTC."""
    db.session.execute(sa.text("SET LOCAL TIME ZONE 'Europe/Paris'"))
    shown = db.session.execute(
        sa.text("SELECT at::text FROM audit_events WHERE seq = :seq"), {"seq": approval_entry}
    ).scalar_one()
    assert shown.startswith("2026-07-15 00:30:15")  # the session is really in Paris
    entry = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.seq == approval_entry)).one()
    assert entry.at.tzname() == "UTC"
    assert (entry.at.date(), entry.at.time()) == (dt.date(2026, 7, 14), dt.time(22, 30, 15))
    db.session.rollback()


def test_the_trail_page_prints_the_entry_in_utc_and_says_so(
    client: FlaskClient, app: Flask, approval_entry: int
) -> None:
    supervisor = make_user(db.session, role="supervisor")
    db.session.commit()
    login(client, supervisor)
    page = client.get(f"/audit/?commande={ORDER}").get_data(as_text=True)
    assert "<th>Date (UTC)</th>" in page
    assert "Heures en UTC" in page
    row = page.split(f'data-seq="{approval_entry}"')[1].split("</tr>")[0]
    assert "<td>14/07/2026 22:30:15 UTC</td>" in row
    assert "olivia.perrin@certeurope.test" in row
    assert "15/07/2026" not in row  # not the Paris day
    assert "00:30" not in row
