"""The recovery sweep: a dossier whose checks were killed mid-run (or whose job was lost) is
evaluated through the one re-check path; a dossier already checked on its latest input, or
whose own check may still be running, is left alone."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask

from ra_workbench.checks.models import CheckRun
from ra_workbench.checks.service import evaluate_dossier
from ra_workbench.checks.tasks import recover_unchecked
from ra_workbench.dossiers.models import Dossier, DossierRevision, SignatureEvent
from ra_workbench.extensions import db
from ra_workbench.jobs.rules import current_job_rules
from ra_workbench.jobs.tasks import describe
from ra_workbench.unit import unit_of_work
from tests.checks.test_service import FakeExtractor, complete_dossier
from tests.factories import make_dossier

RECEIVED = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
LATER = RECEIVED + dt.timedelta(hours=1)


def _received(dossier: Dossier, at: dt.datetime = RECEIVED) -> Dossier:
    db.session.add(
        DossierRevision(
            dossier_id=dossier.id, revision=dossier.revision, received_at=at, source="api"
        )
    )
    db.session.flush()
    return dossier


def _runs(dossier_id: int) -> list[CheckRun]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(CheckRun).where(CheckRun.dossier_id == dossier_id).order_by(CheckRun.id)
        )
    )


def _sweep(now: dt.datetime) -> int:
    with unit_of_work():
        return recover_unchecked(now.isoformat())


def test_a_dossier_left_without_a_check_run_is_evaluated_by_the_sweep(
    app: Flask, extractor: FakeExtractor
) -> None:
    with unit_of_work():
        dossier_id = _received(complete_dossier(extractor)).id  # its check was killed

    assert _sweep(LATER) == 1
    [run] = _runs(dossier_id)
    assert run.trigger == "recovery"
    assert run.revision == 1
    assert _sweep(LATER) == 0  # found once


def test_a_dossier_with_an_up_to_date_run_is_not_evaluated_again(
    app: Flask, extractor: FakeExtractor
) -> None:
    with unit_of_work() as session:
        dossier = _received(complete_dossier(extractor))
        evaluate_dossier(session, dossier.id, trigger="ingest")
        dossier_id = dossier.id
    calls = len(extractor.calls)

    assert _sweep(LATER) == 0
    assert [r.trigger for r in _runs(dossier_id)] == ["ingest"]
    assert len(extractor.calls) == calls


def test_a_signature_received_after_the_latest_run_is_checked_by_the_sweep(
    app: Flask, extractor: FakeExtractor
) -> None:
    with unit_of_work() as session:
        dossier = _received(complete_dossier(extractor))
        run = evaluate_dossier(session, dossier.id, trigger="ingest")
        # The signature's own check never ran: the event is newer than every run.
        signed_at = run.created_at + dt.timedelta(seconds=1)
        db.session.add(
            SignatureEvent(
                dossier_id=dossier.id,
                signer="holder",
                status="signed",
                identity_verification="self_id_passed",
                evidence_id="GS-hold-1",
                at=RECEIVED,
                received_at=signed_at,
                payload={},
            )
        )
        dossier_id = dossier.id

    assert _sweep(signed_at + dt.timedelta(hours=1)) == 1
    assert [r.trigger for r in _runs(dossier_id)] == ["ingest", "recovery"]


def test_what_arrived_within_a_jobs_timeout_and_dossiers_without_documents_are_left_alone(
    app: Flask, extractor: FakeExtractor
) -> None:
    timeout = dt.timedelta(seconds=current_job_rules().retry.job_timeout_seconds)
    with unit_of_work():
        checking = _received(complete_dossier(extractor)).id  # its check may be running
        empty = _received(make_dossier(db.session)).id

    assert _sweep(RECEIVED + timeout - dt.timedelta(seconds=1)) == 0
    assert _runs(checking) == []
    assert _sweep(RECEIVED + timeout + dt.timedelta(seconds=1)) == 1
    assert [r.trigger for r in _runs(checking)] == ["recovery"]
    assert _runs(empty) == []


def test_the_sweep_is_on_the_schedule_with_its_french_label(app: Flask) -> None:
    [entry] = [e for e in current_job_rules().schedule if e.name == "recovery"]
    assert entry.task == "ra_workbench.checks.tasks:recover_unchecked"
    assert entry.every_seconds == 600
    assert describe(entry.task, ()) == "Reprise des contrôles interrompus"
