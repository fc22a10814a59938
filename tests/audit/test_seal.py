"""The periodic seal: the verified head, signed, e-mailed to the supervisors and written to
every anchor's seal log — time-stamped by an RFC 3161 authority when one is configured.

A seal in the supervisors' mailbox is what still speaks when an intruder owns the database
host and the data directory and rolls both back consistently: `audit verify --seal FILE`.
The e-mail goes through the outbox to a real SMTP server on loopback; the TSA is
`openssl ts` behind a loopback HTTP server. SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from ra_workbench.audit.anchor import Seal, SealKind
from ra_workbench.audit.cli import SEAL_TEMPLATE, audit_group
from ra_workbench.audit.models import AuditEvent
from ra_workbench.audit.seal import parse_seal_blocks
from ra_workbench.audit.service import anchor_store, verify
from ra_workbench.audit.tasks import SealRefused, seal_head
from ra_workbench.audit.timestamp import verify_timestamp
from ra_workbench.config import Settings
from ra_workbench.extensions import db
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.unit import unit_of_work
from tests.audit.trail import (
    Snapshot,
    append_entries,
    delete_entries_from,
    intruder_sql,
    verify_cli,
)
from tests.audit.tsa import local_tsa
from tests.smtp import Mailbox, local_smtp

SUPERVISORS = ("superviseur@certeurope.example", "controle-interne@certeurope.example")


@pytest.fixture
def supervisors_mailbox(
    app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Mailbox]:
    """The supervisors' addresses are configured and the SMTP server is real (loopback)."""
    monkeypatch.setattr(settings, "audit_seal_recipients", SUPERVISORS)
    with local_smtp(settings, monkeypatch) as mailbox:
        yield mailbox


def _run_seal_job() -> int:
    with unit_of_work():
        return seal_head("2026-11-29")


def _entries(event_type: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event_type == event_type))
    )


def _save(mailbox: Mailbox, index: int, path: Path) -> Path:
    path.write_bytes(mailbox.messages[index].as_bytes())
    return path


def test_the_daily_seal_emails_the_signed_head_to_every_supervisor(
    app: Flask, supervisors_mailbox: Mailbox, settings: Settings
) -> None:
    append_entries(3)

    assert _run_seal_job() == 3

    assert sorted(m["To"] for m in supervisors_mailbox.messages) == sorted(SUPERVISORS)
    message = supervisors_mailbox.messages[0]
    assert "Sceau du journal d'audit : 3 entrée(s)" in message["Subject"]
    body = message.get_body(("plain",))
    assert body is not None
    [seal] = parse_seal_blocks(body.get_content())
    assert seal.valid(settings.audit_key)
    assert (seal.kind, seal.seq) == (SealKind.SEAL, 3)
    outbox = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.template == SEAL_TEMPLATE)
    ).all()
    assert {m.state for m in outbox} == {"sent"}
    [sealed] = _entries("audit.sealed")
    assert sealed.seq == 4
    assert sealed.payload["seq"] == 3
    assert sealed.payload["recipients"] == list(SUPERVISORS)
    with unit_of_work() as session:
        report = verify(session)
    assert report.ok, report.problems
    assert report.places[0].latest_seal_at == seal.at


def test_a_kept_seal_catches_a_rollback_of_the_trail_and_of_the_data_directory(
    app: Flask, supervisors_mailbox: Mailbox, tmp_path: Path
) -> None:
    append_entries(2)
    before = Snapshot.take(tmp_path)  # the data directory's anchor at n°2
    append_entries(2)
    _run_seal_job()  # seals n°4, e-mailed
    kept = _save(supervisors_mailbox, 0, tmp_path / "sceau.eml")

    delete_entries_from(3)
    before.put_back()  # head and seal log as they were at n°2: they agree with the trail

    # The limit, stated: with only the data directory as anchor, an intruder who owns it
    # and the database can roll both back and the trail alone looks intact.
    assert verify_cli(app).exit_code == 0
    result = verify_cli(app, "--seal", str(kept))
    assert result.exit_code == 1
    assert "dernière(s) entrée(s) n°3 à n°4 supprimée(s) : le sceau du" in result.output
    assert "atteste n°4, le journal s'arrête à n°2" in result.output


def test_a_forged_seal_is_named(app: Flask, supervisors_mailbox: Mailbox, tmp_path: Path) -> None:
    append_entries(2)
    _run_seal_job()
    kept = _save(supervisors_mailbox, 0, tmp_path / "sceau.eml")
    forged = tmp_path / "faux.eml"
    forged.write_bytes(kept.read_bytes().replace(b"seq: 2", b"seq: 1"))

    assert verify_cli(app, "--seal", str(kept)).exit_code == 0
    result = verify_cli(app, "--seal", str(forged))
    assert result.exit_code == 1
    assert "falsifié ou d'une autre installation : MAC invalide" in result.output


def test_an_altered_trail_is_not_sealed_and_the_supervisors_are_alerted(
    app: Flask, supervisors_mailbox: Mailbox
) -> None:
    append_entries(3)
    intruder_sql("UPDATE audit_events SET actor = 'intrus@example.org' WHERE seq = 2")

    with pytest.raises(SealRefused, match="n°2"):
        _run_seal_job()

    assert len(supervisors_mailbox.messages) == len(SUPERVISORS)
    alert = supervisors_mailbox.messages[0]
    assert "ALERTE : journal d'audit altéré" in alert["Subject"]
    body = alert.get_body(("plain",))
    assert body is not None
    assert "entrée n°2 modifiée" in body.get_content()
    assert _entries("audit.sealed") == []
    result = app.test_cli_runner().invoke(audit_group, ["seal"])
    assert result.exit_code == 1
    assert "aucun sceau écrit" in result.output


def test_a_newly_configured_place_is_filled_by_the_seal_only_when_asked(
    app: Flask, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    append_entries(2)
    elsewhere = tmp_path / "nouvelle-baie" / "audit"
    monkeypatch.setattr(settings, "audit_anchors", (str(elsewhere),))
    runner = app.test_cli_runner()

    assert f"aucune ancre dans {elsewhere}" in verify_cli(app).output
    assert runner.invoke(audit_group, ["seal"]).exit_code == 1
    filled = runner.invoke(audit_group, ["seal", "--init"])
    assert filled.exit_code == 0, filled.output
    assert "journal scellé : 2 entrée(s)" in filled.output
    assert "BEGIN RA-WORKBENCH AUDIT SEAL" in filled.output
    assert verify_cli(app).exit_code == 0


def test_the_seal_is_time_stamped_by_the_configured_authority(
    app: Flask, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with local_tsa(tmp_path / "tsa") as tsa:
        monkeypatch.setattr(settings, "audit_tsa_url", tsa.url)
        monkeypatch.setattr(settings, "audit_tsa_ca_file", tsa.ca_file)
        append_entries(2)

        result = app.test_cli_runner().invoke(audit_group, ["seal"])

        assert result.exit_code == 0, result.output
        assert f"horodatage RFC 3161 : accordé par {tsa.url}" in result.output
        assert tsa.requests == 1
    seal = anchor_store().read().latest_seal
    assert seal is not None
    assert seal.timestamp
    check = verify_timestamp(seal.timestamp_der(), seal.imprint(), tsa.ca_file)
    assert check.ok, check.detail
    assert check.time
    assert verify_cli(app).exit_code == 0  # verify checks the newest seal's time-stamp too

    # A seal of ours (valid MAC) carrying the time-stamp of another seal: the TSA's
    # signature is over another imprint.
    with unit_of_work() as session:
        head = verify(session)
    assert head.genesis is not None
    assert head.head_seq is not None
    assert head.head_hash is not None
    reused = Seal.make(
        settings.audit_key,
        SealKind.SEAL,
        head.genesis,
        head.head_seq,
        head.head_hash,
        dt.datetime.now(dt.UTC),
    ).with_timestamp(seal.timestamp_der())
    anchor_store().append_seal(reused)

    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"horodatage RFC 3161 du sceau n°{head.head_seq}" in result.output


def test_the_seal_is_a_daily_scheduled_job_with_a_french_label(app: Flask) -> None:
    from ra_workbench.jobs.rules import current_job_rules
    from ra_workbench.jobs.tasks import describe

    [entry] = [e for e in current_job_rules().schedule if e.name == "audit_seal"]
    assert entry.task == "ra_workbench.audit.tasks:seal_head"
    assert entry.daily_at is not None
    assert describe(entry.task, ()) == "Sceau du journal d'audit"
