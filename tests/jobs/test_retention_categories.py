"""Retention by category (REQUIREMENTS 14–15, OVR-6.4.6-01, ISS-8.5.2-08), with a fake
clock (the job's `today`): each category has its period in rules/jobs.toml, the loader
refuses less than the legal minimum, one job runs them all and reports counts per
category, and the audit trail is appended to, never changed.

Identity copies after a certificate or a rejection: tests/jobs/test_retention_purge.py."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from ra_workbench.audit.models import AuditEvent
from ra_workbench.audit.service import verify
from ra_workbench.certificates.models import Certificate
from ra_workbench.checks.models import CheckResult
from ra_workbench.checks.retention import ERASED_FR
from ra_workbench.documents.models import Document
from ra_workbench.documents.store import DocumentStore
from ra_workbench.dossiers.models import Dossier, Person
from ra_workbench.extensions import db
from ra_workbench.issuance.tasks import retention_purge
from ra_workbench.jobs.rules import current_job_rules, load_job_rules
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.review.models import Decision, RegistrationEvidence
from ra_workbench.rulesfile import RulesError
from ra_workbench.unit import unit_of_work
from tests.factories import (
    make_check_run,
    make_document,
    make_dossier,
    make_issuance_request,
    make_user,
)

REPO_RULES = Path(__file__).resolve().parents[2] / "rules"
LAST_ACTIVITY = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)


def _run(day: dt.date) -> dict[str, dict[str, int]]:
    with unit_of_work():
        return retention_purge(day.isoformat())


def _audit() -> list[tuple[int, str]]:
    db.session.expire_all()
    return [
        (e.seq, e.hash) for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq))
    ]


def _message(dossier: Dossier | None, *, state: str, created_at: dt.datetime) -> OutboxMessage:
    message = OutboxMessage(
        dossier_id=dossier.id if dossier else None,
        channel="email",
        recipient="c.durand@ateliers-morel.fr",
        template="documents_requested",
        subject="Votre commande : pièces demandées",
        body="Bonjour Claire DURAND, merci de renvoyer votre pièce d'identité.",
        state=state,
        attachments=[{"filename": "rdv.ics", "content_type": "text/calendar", "content": "QQ=="}],
        created_at=created_at,
    )
    db.session.add(message)
    return message


# --- the loader ---------------------------------------------------------------------------


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(REPO_RULES, target)
    return target


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("identity_copies", "after_certificate_end_days"),
        ("registration_evidence", "after_certificate_end_days"),
    ],
)
def test_the_loader_refuses_less_than_seven_years_for_registration_evidence(
    rules_copy: Path, table: str, key: str
) -> None:
    path = rules_copy / "jobs.toml"
    text = path.read_text(encoding="utf-8")
    pattern = rf"(\[retention\.{table}\]\n(?:.*\n)*?){key} = 2557"
    edited, count = re.subn(pattern, rf"\g<1>{key} = 0", text, count=1)
    assert count == 1
    path.write_text(edited, encoding="utf-8")
    with pytest.raises(RulesError) as refused:
        load_job_rules(rules_copy)
    message = str(refused.value)
    assert "jobs.toml" in message
    assert f"retention.{table}.{key}" in message
    assert "au moins 2557 jours" in message
    assert "7 ans après la fin de validité du certificat" in message


def test_the_repository_rules_give_each_category_its_period() -> None:
    retention = load_job_rules(REPO_RULES).retention
    assert retention.identity_copies.after_certificate_end_days >= 2557
    assert retention.registration_evidence_days >= 2557
    assert retention.abandoned_after_days == 365
    assert retention.outbox_bodies_after_days == 90


def test_an_unknown_category_key_is_refused(rules_copy: Path) -> None:
    path = rules_copy / "jobs.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("bodies_after_days", "body_after_days"),
        encoding="utf-8",
    )
    with pytest.raises(RulesError, match=r"retention\.outbox\.body_after_days : clé inconnue"):
        load_job_rules(rules_copy)


# --- abandoned dossiers -------------------------------------------------------------------


def test_contact_and_order_data_of_an_abandoned_dossier_are_erased_after_the_period(
    app: Flask,
) -> None:
    days = current_job_rules().retention.abandoned_after_days
    with unit_of_work() as session:
        dossier = make_dossier(
            session,
            status="documents_requested",
            updated_at=LAST_ACTIVITY,
            declared={"holder": {"last_name": "DURAND"}},
            delivery_info="Sonner chez Mme DURAND",
        )
        recto = make_document(session, dossier, side="recto", original_name="CNI DURAND.png")
        kbis = make_document(session, dossier, type="kbis", person_role=None, side=None)
        make_check_run(
            session,
            dossier,
            [
                {
                    "rule": "identity.name_match",
                    "outcome": "fail",
                    "message": "DURANT lu, DURAND déclaré",
                    "person_role": "holder",
                    "evidence": {"declared": "DURAND", "document_number": "X4RTBPFW4"},
                }
            ],
        )
        _message(dossier, state="sent", created_at=LAST_ACTIVITY)
        # An approval once wrote its evidence record (the dossier then went back to the
        # customer): registration evidence is kept, whatever happens to the dossier.
        operator = make_user(session)
        approval = Decision(
            dossier_id=dossier.id, kind="approve", actor_id=operator.id, at=LAST_ACTIVITY
        )
        session.add(approval)
        session.flush()
        session.add(
            RegistrationEvidence(
                dossier_id=dossier.id,
                decision_id=approval.id,
                person_role="holder",
                full_name="CLAIRE DURAND",
                name_source="mrz",
                document_number="X4RTBPFW4",
                accepted_by=operator.email,
                decided_by=operator.email,
                decided_at=LAST_ACTIVITY,
            )
        )
        # Same age, but it led to a certificate: registration evidence, kept.
        certified = make_dossier(session, status="delivered", updated_at=LAST_ACTIVITY)
        session.add(
            Certificate(
                dossier_id=certified.id,
                issuance_request_id=make_issuance_request(session, certified).id,
                serial_number="02",
                subject_serial="S2",
                subject="CN=x",
                fingerprint_sha256="e" * 64,
                not_before=dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
                not_after=dt.datetime(2028, 3, 1, tzinfo=dt.UTC),
                key_algorithm="P-256",
                pem="",
                backend="local",
                holder_surname="DURAND",
                holder_given_names="CLAIRE",
            )
        )
    store = DocumentStore(app.config["RA_SETTINGS"].store_dir)
    last_day = LAST_ACTIVITY.date() + dt.timedelta(days=days - 1)

    summary = _run(last_day)
    assert summary["abandoned_dossiers"] == {"dossiers": 0}
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).personal_data_erased_at is None  # type: ignore[union-attr]

    audit_before = _audit()
    summary = _run(last_day + dt.timedelta(days=1))
    assert summary["abandoned_dossiers"]["dossiers"] == 1
    assert summary["abandoned_dossiers"]["people"] == 2
    assert summary["abandoned_dossiers"]["documents"] == 2
    assert summary["abandoned_dossiers"]["check_results"] >= 1
    assert summary["abandoned_dossiers"]["outbox_messages"] == 1
    assert summary["registration_evidence"] == {"dossiers_kept": 1, "evidence_records_kept": 1}
    assert set(summary) == {
        "identity_copies",
        "registration_evidence",
        "abandoned_dossiers",
        "outbox",
    }

    db.session.expire_all()
    erased = db.session.get(Dossier, dossier.id)
    assert erased is not None
    assert erased.personal_data_erased_at is not None
    assert erased.order_number == dossier.order_number  # the row and its number stay
    assert erased.declared == {}
    assert erased.delivery_info == ""
    assert erased.payment_transaction_id is None
    people = db.session.scalars(sa.select(Person).where(Person.dossier_id == dossier.id)).all()
    assert {(p.first_name, p.last_name, p.email, p.mobile) for p in people} == {("", "", "", "")}
    assert all(p.address == {} for p in people)
    documents = db.session.scalars(sa.select(Document).where(Document.dossier_id == dossier.id))
    assert all(d.purged_at is not None and d.original_name == "" for d in documents)
    assert not store.exists(recto.sha256)  # deleted after the commit
    assert not store.exists(kbis.sha256)
    results = db.session.scalars(
        sa.select(CheckResult).where(CheckResult.rule == "identity.name_match")
    ).all()
    assert [(r.message, r.evidence) for r in results] == [(ERASED_FR, {})]
    [message] = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.dossier_id == dossier.id)
    ).all()
    assert (message.recipient, message.body, message.attachments) == ("", "", [])
    assert message.template == "documents_requested"  # the metadata stays

    [evidence] = db.session.scalars(sa.select(RegistrationEvidence)).all()
    assert (evidence.full_name, evidence.document_number) == ("CLAIRE DURAND", "X4RTBPFW4")
    kept = db.session.scalars(sa.select(Person).where(Person.dossier_id == certified.id)).all()
    assert all(p.last_name for p in kept)

    audit_after = _audit()
    assert audit_after[: len(audit_before)] == audit_before  # appended to, never changed
    [entry] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.event_type == "retention.dossier_erased")
    ).all()
    assert "DURAND" not in json.dumps(entry.payload)
    with unit_of_work() as session:
        assert verify(session).ok

    # Idempotent: once erased, never again.
    assert _run(last_day + dt.timedelta(days=30))["abandoned_dossiers"] == {"dossiers": 0}


def test_a_dossier_with_recent_activity_is_not_abandoned(app: Flask) -> None:
    days = current_job_rules().retention.abandoned_after_days
    with unit_of_work() as session:
        make_dossier(session, updated_at=LAST_ACTIVITY + dt.timedelta(days=days))
    assert _run(LAST_ACTIVITY.date() + dt.timedelta(days=days + 1))["abandoned_dossiers"] == {
        "dossiers": 0
    }


# --- outbox -------------------------------------------------------------------------------


def test_outbox_bodies_are_shortened_to_their_metadata_after_the_period(app: Flask) -> None:
    days = current_job_rules().retention.outbox_bodies_after_days
    created = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with unit_of_work() as session:
        dossier = make_dossier(session)
        sent = _message(dossier, state="sent", created_at=created)
        queued = _message(dossier, state="queued", created_at=created)
        failed = _message(dossier, state="failed", created_at=created)
        session.flush()
    last_day = created.date() + dt.timedelta(days=days - 1)

    assert _run(last_day)["outbox"] == {"bodies_shortened": 0}
    assert _run(last_day + dt.timedelta(days=1))["outbox"] == {"bodies_shortened": 1}
    db.session.expire_all()
    shortened = db.session.get(OutboxMessage, sent.id)
    assert shortened is not None
    assert (shortened.body, shortened.attachments) == ("", [])
    assert shortened.body_shortened_at is not None
    assert shortened.recipient == "c.durand@ateliers-morel.fr"
    assert shortened.subject == "Votre commande : pièces demandées"
    assert shortened.state == "sent"
    # Still to be sent, or to be retried from the outbox: the body is what it will say.
    for kept in (queued.id, failed.id):
        assert db.session.get(OutboxMessage, kept).body  # type: ignore[union-attr]
    assert _run(last_day + dt.timedelta(days=2))["outbox"] == {"bodies_shortened": 0}


# --- one entry point ----------------------------------------------------------------------


def test_the_purge_command_runs_every_category_and_prints_their_counts(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["jobs", "purge", "--today", "2026-12-01", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["day"] == "2026-12-01"
    assert set(summary) == {
        "day",
        "identity_copies",
        "registration_evidence",
        "abandoned_dossiers",
        "outbox",
    }
    assert "documents" in summary["identity_copies"]
