"""The nightly re-check, driven by the scheduler with a fake clock: a dossier whose Kbis
passes 3 months while it waits becomes incomplete, and the customer is told."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask

from ra_workbench.checks.models import CheckRun
from ra_workbench.checks.service import evaluate_dossier
from ra_workbench.checks.tasks import nightly_recheck
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.jobs.queue import dispatch
from ra_workbench.jobs.rules import current_job_rules
from ra_workbench.jobs.scheduler import FileClaims, tick
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.unit import unit_of_work
from tests.checks.test_service import FakeExtractor, complete_dossier, sign

PARIS = ZoneInfo("Europe/Paris")
SUBMITTED = dt.date(2026, 11, 20)  # the Kbis is dated 2026-11-01


def _ready_dossier(extractor: FakeExtractor) -> int:
    with unit_of_work() as session:
        dossier = complete_dossier(extractor)
        sign(dossier, "holder")
        sign(dossier, "legal_representative", minutes=1)
        evaluate_dossier(session, dossier.id, trigger="ingest", at=SUBMITTED)
        assert dossier.verdict == "ready"
        return dossier.id


def _night(claims: FileClaims, day: dt.date) -> list[str]:
    now = dt.datetime.combine(day, dt.time(2, 45), tzinfo=PARIS)
    return [d.entry for d in tick(current_job_rules().schedule, now, claims.claim, dispatch)]


def _messages(dossier_id: int) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.dossier_id == dossier_id))
    )


def _runs(dossier_id: int) -> int:
    return len(
        db.session.scalars(sa.select(CheckRun.id).where(CheckRun.dossier_id == dossier_id)).all()
    )


def test_kbis_ageing_past_three_months_while_pending_makes_it_incomplete_and_tells_the_customer(
    app: Flask, extractor: FakeExtractor, tmp_path: Path
) -> None:
    dossier_id = _ready_dossier(extractor)
    claims = FileClaims(tmp_path / "schedule.json")

    assert "nightly_recheck" in _night(claims, dt.date(2026, 11, 21))
    assert db.session.get(Dossier, dossier_id).verdict == "ready"  # type: ignore[union-attr]
    assert _messages(dossier_id) == []

    # Three months and a day after the Kbis date: 2027-02-02.
    assert "nightly_recheck" in _night(claims, dt.date(2027, 2, 2))
    db.session.expire_all()
    dossier = db.session.get(Dossier, dossier_id)
    assert dossier is not None
    assert dossier.verdict == "incomplete"
    assert dossier.status == "pending"
    messages = [m for m in _messages(dossier_id) if m.template == "verdict_changed"]
    # The customer: the legal representative (who ordered) and the holder.
    assert {m.recipient for m in messages} == {
        "p.morel@ateliers-morel.fr",
        "c.durand@ateliers-morel.fr",
    }
    for message in messages:
        assert "Kbis" in message.body
        assert "moins de 3 mois" in message.body
    run = db.session.scalars(
        sa.select(CheckRun).where(CheckRun.dossier_id == dossier_id).order_by(CheckRun.id.desc())
    ).first()
    assert run is not None
    assert run.trigger == "nightly"
    assert run.evaluation_date == dt.date(2027, 2, 2)


def test_the_nightly_recheck_run_twice_changes_nothing(
    app: Flask, extractor: FakeExtractor, tmp_path: Path
) -> None:
    dossier_id = _ready_dossier(extractor)
    claims = FileClaims(tmp_path / "schedule.json")
    _night(claims, dt.date(2027, 2, 2))
    runs, messages = _runs(dossier_id), len(_messages(dossier_id))
    calls = len(extractor.calls)

    assert "nightly_recheck" not in _night(claims, dt.date(2027, 2, 2))  # claimed already
    with unit_of_work():
        nightly_recheck("2027-02-02")  # and the task itself, run again by hand
    assert (_runs(dossier_id), len(_messages(dossier_id))) == (runs, messages)
    assert len(extractor.calls) == calls  # cached extraction: no OCR


def test_a_dossier_waiting_for_requested_documents_is_rechecked_but_not_told_twice(
    app: Flask, extractor: FakeExtractor
) -> None:
    from ra_workbench.checks.recheck import recheck

    dossier_id = _ready_dossier(extractor)
    with unit_of_work() as session:
        dossier = session.get(Dossier, dossier_id)
        assert dossier is not None
        dossier.status = "documents_requested"
    with unit_of_work() as session:
        outcome = recheck(session, dossier_id, today=dt.date(2027, 2, 2))
    assert outcome.changed
    assert outcome.verdict == "incomplete"
    assert not outcome.notified
    assert _messages(dossier_id) == []
