"""The retention purge deletes identity copies once their retention ends, keeps the record
(hash, type), never changes the audit trail, and changes nothing when run again."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask

from ra_workbench.audit.models import AuditEvent
from ra_workbench.audit.service import verify
from ra_workbench.certificates.models import Certificate
from ra_workbench.clock import local_time
from ra_workbench.documents.models import Document
from ra_workbench.documents.store import DocumentStore
from ra_workbench.dossiers.models import Person, SignatureEvent
from ra_workbench.extensions import db
from ra_workbench.issuance.tasks import retention_purge
from ra_workbench.jobs.rules import current_job_rules
from ra_workbench.review.models import Decision
from ra_workbench.unit import unit_of_work
from tests.factories import (
    make_document,
    make_dossier,
    make_issuance_request,
    make_user,
    pdf_bytes,
    png_bytes,
)


def _store(app: Flask) -> DocumentStore:
    return DocumentStore(app.config["RA_SETTINGS"].store_dir)


def _run(day: str) -> int:
    """Identity copies purged by one run (every category runs: test_retention_categories)."""
    with unit_of_work():
        return retention_purge(day)["identity_copies"]["documents"]


def _state() -> list[tuple[int, str, bool]]:
    db.session.expire_all()
    return [
        (d.id, d.type, d.purged_at is not None)
        for d in db.session.scalars(sa.select(Document).order_by(Document.id))
    ]


def _audit() -> list[tuple[int, str]]:
    return [
        (e.seq, e.hash) for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq))
    ]


def test_identity_copies_of_a_rejected_dossier_are_purged_after_the_period_once(app: Flask) -> None:
    days = current_job_rules().retention.after_rejection_days
    with unit_of_work() as session:
        operator = make_user(session)
        dossier = make_dossier(session, status="rejected")
        recto = make_document(session, dossier, side="recto")
        verso = make_document(session, dossier, side="verso")
        kbis = make_document(session, dossier, type="kbis", person_role=None, side=None)
        session.add(
            Decision(
                dossier_id=dossier.id,
                kind="reject",
                actor_id=operator.id,
                at=dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC),
                reasons=[{"code": "fraud", "label": "Fraude"}],
            )
        )
    rejected_on = dt.date(2026, 11, 25)
    store = _store(app)
    # A page of the recto rendered for the dossier page is a copy too.
    pages = app.config["RA_SETTINGS"].cache_dir / "pages"
    pages.mkdir(parents=True, exist_ok=True)
    rendered = pages / f"{recto.sha256}-1-110.png"
    rendered.write_bytes(png_bytes())

    assert _run((rejected_on + dt.timedelta(days=days - 1)).isoformat()) == 0
    assert store.exists(recto.sha256)

    audit_before = _audit()
    assert _run((rejected_on + dt.timedelta(days=days)).isoformat()) == 2
    assert not store.exists(recto.sha256)
    assert not store.exists(verso.sha256)
    assert not rendered.exists()
    assert store.exists(kbis.sha256)  # registration evidence is kept
    state = _state()
    assert [(t, purged) for _, t, purged in state] == [
        ("identity", True),
        ("identity", True),
        ("kbis", False),
    ]
    purged = db.session.get(Document, recto.id)
    assert purged is not None
    assert purged.sha256 == recto.sha256
    audit_after = _audit()
    assert audit_after[: len(audit_before)] == audit_before  # appended to, never changed
    [entry] = list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event_type == "documents.purged"))
    )
    assert {d["sha256"] for d in entry.payload["documents"]} == {recto.sha256, verso.sha256}

    # Idempotent: the same run again (and a later one) changes nothing.
    assert _run((rejected_on + dt.timedelta(days=days)).isoformat()) == 0
    assert _run((rejected_on + dt.timedelta(days=days + 30)).isoformat()) == 0
    assert _state() == state
    db.session.expire_all()
    assert _audit() == audit_after
    with unit_of_work() as session:
        assert verify(session).ok


def test_a_copy_shared_with_a_live_dossier_keeps_its_bytes(app: Flask) -> None:
    card = png_bytes(text="same card")
    with unit_of_work() as session:
        old = make_dossier(session, status="delivered")
        # Live on the day of the run (years from now: it is not abandoned).
        live = make_dossier(session, updated_at=dt.datetime(2029, 12, 1, tzinfo=dt.UTC))
        old_doc = make_document(session, old, data=card)
        make_document(session, live, data=card)
        session.add(
            Certificate(
                dossier_id=old.id,
                issuance_request_id=make_issuance_request(session, old).id,
                serial_number="01",
                subject_serial="S1",
                subject="CN=x",
                fingerprint_sha256="f" * 64,
                not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                not_after=dt.datetime(2023, 1, 1, tzinfo=dt.UTC),
                key_algorithm="P-256",
                pem="",
                backend="local",
                holder_surname="DURAND",
                holder_given_names="CLAIRE",
            )
        )
    days = current_job_rules().retention.after_certificate_end_days
    day = (dt.date(2023, 1, 1) + dt.timedelta(days=days)).isoformat()
    assert _run(day) == 1
    assert db.session.get(Document, old_doc.id).purged_at is not None  # type: ignore[union-attr]
    assert _store(app).exists(old_doc.sha256)  # still the live dossier's copy


# --- a dossier that led to a certificate --------------------------------------------------

CERTIFIED_ON = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _signatures(dossier_id: int) -> list[tuple[str, str, str, str, dt.datetime, dict]]:
    db.session.expire_all()
    return [
        (e.signer, e.status, e.identity_verification, e.evidence_id, e.at, e.payload)
        for e in db.session.scalars(
            sa.select(SignatureEvent)
            .where(SignatureEvent.dossier_id == dossier_id)
            .order_by(SignatureEvent.id)
        )
    ]


@pytest.mark.parametrize(
    ("not_after", "revoked_at"),
    [
        # Expired: the end is the certificate's notAfter.
        (dt.datetime(2029, 12, 1, 10, 0, tzinfo=dt.UTC), None),
        # Revoked long before it would have expired: the end is the revocation.
        (
            dt.datetime(2029, 12, 1, 10, 0, tzinfo=dt.UTC),
            dt.datetime(2027, 6, 15, 14, 0, tzinfo=dt.UTC),
        ),
        # Expired at 23:30 UTC, already 00:30 the next day in Paris, where days are counted.
        (dt.datetime(2029, 12, 1, 23, 30, tzinfo=dt.UTC), None),
    ],
    ids=["expired", "revoked", "expired-after-midnight-in-paris"],
)
def test_a_certified_dossiers_copies_stay_to_the_last_day_and_its_agreement_survives(
    app: Flask, not_after: dt.datetime, revoked_at: dt.datetime | None
) -> None:
    """Claire DURAND's certificate (ATELIERS MOREL, signed in GoSign by her and by Paul
    MOREL) stops being valid; seven years later (2557 days) her and Paul's identity copies
    go, not a day sooner. The signature records of the agreement, the Kbis and the mandate
    are registration evidence: the purge leaves them as they were."""
    days = current_job_rules().retention.after_certificate_end_days
    with unit_of_work() as session:
        dossier = make_dossier(session, status="delivered", updated_at=CERTIFIED_ON)
        copies = [
            make_document(session, dossier, person_role=role, side=side)
            for role in ("holder", "legal_representative")
            for side in ("recto", "verso")
        ]
        kbis = make_document(session, dossier, type="kbis", person_role=None, side=None)
        mandate = make_document(
            session,
            dossier,
            type="mandate",
            person_role=None,
            side=None,
            data=pdf_bytes(text="MANDAT"),
        )
        for minutes, signer in enumerate(("holder", "legal_representative")):
            session.add(
                SignatureEvent(
                    dossier_id=dossier.id,
                    signer=signer,
                    status="signed",
                    identity_verification="self_id_passed",
                    evidence_id=f"GS-{signer}-20261121",
                    at=dt.datetime(2026, 11, 21, 9, minutes, tzinfo=dt.UTC),
                    payload={"envelope": "ENV-0042", "signer": signer, "terms": "CGU v7"},
                )
            )
        session.add(
            Certificate(
                dossier_id=dossier.id,
                issuance_request_id=make_issuance_request(session, dossier).id,
                serial_number="03",
                subject_serial="S3",
                subject="CN=Claire DURAND",
                fingerprint_sha256="d" * 64,
                not_before=CERTIFIED_ON,
                not_after=not_after,
                revoked_at=revoked_at,
                key_algorithm="P-256",
                pem="",
                backend="local",
                holder_surname="DURAND",
                holder_given_names="CLAIRE",
            )
        )
        dossier_id = dossier.id
    store = _store(app)
    ended_on = local_time(revoked_at or not_after).date()  # the job counts Paris days
    agreement = _signatures(dossier_id)
    assert [(signer, evidence) for signer, _, _, evidence, _, _ in agreement] == [
        ("holder", "GS-holder-20261121"),
        ("legal_representative", "GS-legal_representative-20261121"),
    ]

    # The last day of the period: every copy is still there.
    assert _run((ended_on + dt.timedelta(days=days - 1)).isoformat()) == 0
    assert all(store.exists(d.sha256) for d in copies)
    assert [purged for _, _, purged in _state()] == [False] * 6

    # The period is over: the four identity copies go, and only they.
    assert _run((ended_on + dt.timedelta(days=days)).isoformat()) == 4
    assert not any(store.exists(d.sha256) for d in copies)
    assert [(t, purged) for _, t, purged in _state()] == [
        ("identity", True),
        ("identity", True),
        ("identity", True),
        ("identity", True),
        ("kbis", False),
        ("mandate", False),
    ]
    assert store.exists(kbis.sha256)
    assert store.exists(mandate.sha256)
    [entry] = list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event_type == "documents.purged"))
    )
    assert entry.payload["reason"] == "certificate_ended"
    assert entry.payload["retention_ended_from"] == ended_on.isoformat()

    # The agreement's records are untouched, payload included, and the people are kept.
    assert _signatures(dossier_id) == agreement
    people = db.session.scalars(sa.select(Person).where(Person.dossier_id == dossier_id)).all()
    assert people
    assert all(p.last_name for p in people)

    # Later runs change nothing more.
    assert _run((ended_on + dt.timedelta(days=days + 365)).isoformat()) == 0
    assert _signatures(dossier_id) == agreement
    assert store.exists(kbis.sha256)
    assert store.exists(mandate.sha256)
