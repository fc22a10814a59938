"""The audit trail is append-only and tamper-evident: `verify` names the first altered,
inserted or deleted entry, including the last ones (head anchor outside the database).

Tampering is done the way an intruder with database access would: plain SQL on the
table, bypassing the application. Runs on SQLite and on PostgreSQL (RA_TEST_DATABASE_URL).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from flask import Flask

from ra_workbench.audit.chain import GENESIS_HASH, entry_hash
from ra_workbench.audit.cli import audit_group
from ra_workbench.audit.models import AuditEvent, AuditTrailImmutable
from ra_workbench.audit.service import record, verify
from ra_workbench.extensions import db
from ra_workbench.unit import unit_of_work
from tests.audit.trail import append_entries, intruder_sql


def _verify() -> tuple[str | None, int | None, str]:
    with unit_of_work() as session:
        report = verify(session)
    if report.problem is None:
        return None, None, ""
    return report.problem.kind, report.problem.seq, report.problem.message


def test_untouched_trail_verifies(app: Flask) -> None:
    append_entries(5)
    assert _verify() == (None, None, "")


def test_verify_names_a_row_edited_in_sql(app: Flask) -> None:
    append_entries(5)
    intruder_sql("UPDATE audit_events SET actor = 'intrus@example.org' WHERE seq = 3")
    kind, seq, message = _verify()
    assert (kind, seq) == ("altered", 3)
    assert "n°3" in message


def test_verify_names_a_payload_edited_in_sql(app: Flask) -> None:
    append_entries(4)
    intruder_sql("UPDATE audit_events SET payload = :p WHERE seq = 2", p=json.dumps({"i": 99}))
    assert _verify()[:2] == ("altered", 2)


def test_verify_names_a_row_deleted_in_sql(app: Flask) -> None:
    append_entries(5)
    intruder_sql("DELETE FROM audit_events WHERE seq = 3")
    kind, seq, message = _verify()
    assert (kind, seq) == ("deleted", 3)
    assert "n°3" in message


def test_verify_names_a_row_inserted_in_sql_with_a_consistent_hash(app: Flask) -> None:
    append_entries(3)
    with unit_of_work() as session:
        last = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert last is not None
        prev_hash, seq = last.hash, last.seq + 1
    at = dt.datetime.now(dt.UTC)
    forged = entry_hash(
        seq=seq,
        at=at,
        actor="intrus@example.org",
        actor_id=None,
        event_type="review.decision",
        dossier_id=None,
        order_number="300001",
        payload={},
        prev_hash=prev_hash,
    )
    intruder_sql(
        "INSERT INTO audit_events (seq, at, actor, actor_id, event_type, dossier_id, "
        "order_number, payload, prev_hash, hash, mac) VALUES (:seq, :at, :actor, NULL, "
        ":event_type, NULL, :order_number, :payload, :prev_hash, :hash, :mac)",
        seq=seq,
        at=at,
        actor="intrus@example.org",
        event_type="review.decision",
        order_number="300001",
        payload="{}",
        prev_hash=prev_hash,
        hash=forged,
        mac="0" * 64,
    )
    kind, found_seq, message = _verify()
    assert (kind, found_seq) == ("inserted", seq)
    assert "MAC" in message


def test_verify_catches_the_deletion_of_the_last_entries(app: Flask) -> None:
    append_entries(5)
    intruder_sql("DELETE FROM audit_events WHERE seq >= 4")
    kind, seq, message = _verify()
    assert (kind, seq) == ("deleted", 4)
    assert "n°4 à n°5" in message


def test_verify_catches_a_wiped_trail(app: Flask) -> None:
    append_entries(3)
    intruder_sql("DELETE FROM audit_events")
    assert _verify()[:2] == ("deleted", 1)


def test_verify_catches_last_entries_deleted_then_rewritten(app: Flask) -> None:
    append_entries(5)
    intruder_sql("DELETE FROM audit_events WHERE seq >= 4")
    append_entries(2)  # the application carries on: new entries n°4 and n°5, validly chained
    kind, seq, _ = _verify()
    assert (kind, seq) == ("altered", 5)


def test_a_new_database_starts_a_new_chain_and_keeps_the_old_anchor(
    app: Flask, data_dir: object
) -> None:
    from ra_workbench.audit.service import anchor_store

    append_entries(2)
    before = len(anchor_store().archived())
    from tests.conftest import clean_database

    clean_database()
    append_entries(1)
    assert _verify() == (None, None, "")
    assert len(anchor_store().archived()) == before + 1


def test_the_application_cannot_update_or_delete_an_entry(app: Flask) -> None:
    append_entries(2)
    session = db.session
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.seq == 1)).one()
    event.actor = "quelqu'un d'autre"
    with pytest.raises(AuditTrailImmutable):
        session.flush()
    session.rollback()
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.seq == 1)).one()
    session.delete(event)
    with pytest.raises(AuditTrailImmutable):
        session.flush()
    session.rollback()
    with pytest.raises(AuditTrailImmutable):
        session.execute(sa.update(AuditEvent).values(actor="x"))
    session.rollback()
    with pytest.raises(AuditTrailImmutable):
        session.execute(sa.delete(AuditEvent).where(AuditEvent.seq == 2))
    session.rollback()
    assert _verify() == (None, None, "")


def test_cli_verify_exits_non_zero_and_names_the_entry(app: Flask) -> None:
    append_entries(3)
    runner = app.test_cli_runner()
    ok = runner.invoke(audit_group, ["verify", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["entries"] == 3
    intruder_sql("UPDATE audit_events SET event_type = 'autre' WHERE seq = 2")
    broken = runner.invoke(audit_group, ["verify"])
    assert broken.exit_code == 1
    assert "n°2" in broken.output


def test_cli_exports_the_filtered_trail_as_csv(app: Flask, tmp_path: object) -> None:
    import csv
    from pathlib import Path

    append_entries(2, order_number="300001")
    append_entries(1, order_number="300002")
    with unit_of_work() as session:
        record(session, "auth.login_failed", actor='=HYPERLINK("x")')
    out = Path(str(tmp_path)) / "export.csv"
    result = app.test_cli_runner().invoke(
        audit_group, ["export", "--csv", "--order", "300001", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["order_number"] for r in rows] == ["300001", "300001"]
    assert rows[0]["prev_hash"] == GENESIS_HASH
    everything = app.test_cli_runner().invoke(audit_group, ["export", "--csv"])
    assert "'=HYPERLINK" in everything.output  # a formula is never exported as such
