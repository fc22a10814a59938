"""The outbox: messages stored first, sent after commit, kept when no transport is set."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask

from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.config import Settings
from ra_workbench.dossiers.models import PersonRole
from ra_workbench.extensions import db
from ra_workbench.issuance.service import issue_certificate
from ra_workbench.notify import service
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.notify.service import ACTIVATION_PLACEHOLDER
from ra_workbench.unit import DEFERRED_JOBS, unit_of_work
from tests.factories import make_approved_dossier, make_dossier, make_person
from tests.notify.conftest import Mailbox, free_port


def _messages(template: str | None = None) -> list[OutboxMessage]:
    db.session.expire_all()
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if template:
        query = query.where(OutboxMessage.template == template)
    return list(db.session.scalars(query))


def test_documents_requested_lists_what_to_send_in_french_and_is_stored_once(app: Flask) -> None:
    dossier = make_dossier(db.session)
    items = ["Fournir un extrait Kbis de moins de 3 mois.", "Signer les documents."]
    service.notify_documents_requested(db.session, dossier, items)
    service.notify_documents_requested(db.session, dossier, items)  # the same request again

    messages = _messages("documents_requested")
    # Legal representative (no mandataire) and holder, one message each.
    assert [m.recipient for m in messages] == [
        "p.morel@ateliers-morel.fr",
        "c.durand@ateliers-morel.fr",
    ]
    first = messages[0]
    assert first.subject == f"Commande {dossier.order_number} : pièces complémentaires à fournir"
    assert "- Fournir un extrait Kbis de moins de 3 mois.\n- Signer les documents." in first.body
    assert first.body.startswith("Bonjour Monsieur MOREL,")
    assert first.state == "queued"
    jobs = db.session.info.pop(DEFERRED_JOBS)
    assert [job[0] for job in jobs] == [service.SEND_TASK, service.SEND_TASK]


def test_without_smtp_an_email_is_kept_in_the_outbox_and_audited(app: Flask) -> None:
    dossier = make_dossier(db.session)
    with unit_of_work() as session:
        service.notify_documents_requested(session, dossier, ["Renvoyer le Kbis."])
    messages = _messages()
    assert {m.state for m in messages} == {"kept"}
    assert all(m.attempts == 1 for m in messages)
    kept = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.event_type == "notify.kept")
    ).all()
    assert len(kept) == 2


def test_email_goes_out_over_smtp(app: Flask, smtp_server: Mailbox) -> None:
    dossier = make_dossier(db.session)
    with unit_of_work() as session:
        service.notify_documents_requested(session, dossier, ["Renvoyer le Kbis."])

    assert {m.state for m in _messages()} == {"sent"}
    assert all(m.sent_at is not None for m in _messages())
    assert len(smtp_server.messages) == 2
    received = smtp_server.messages[0]
    assert received["To"] == "p.morel@ateliers-morel.fr"
    assert received["From"] == "ae@certeurope.example"
    assert "pièces complémentaires" in received["Subject"]
    body = received.get_body(("plain",))
    assert body is not None
    assert "- Renvoyer le Kbis." in body.get_content()


def test_an_unreachable_smtp_server_marks_the_message_failed_and_staff_can_resend(
    app: Flask, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "smtp_url", f"smtp://127.0.0.1:{free_port()}")
    dossier = make_dossier(db.session)
    with unit_of_work() as session:
        message = service.enqueue_message(
            session,
            dossier,
            "documents_requested",
            "email",
            "p.morel@ateliers-morel.fr",
            {"order_number": dossier.order_number, "items": ["x"], "person": dossier.holder},
            dedup_key="test-unreachable",
        )
    [failed] = _messages()
    assert failed.state == "failed"
    assert failed.attempts == 1
    assert "ConnectionRefusedError" in (failed.error or "")

    monkeypatch.setattr(settings, "smtp_url", None)
    with unit_of_work() as session:
        service.retry_message(session, message.id, actor="sup@example.fr")
    [resent] = _messages()
    assert resent.state == "kept"
    assert resent.attempts == 2
    with pytest.raises(service.NotifyError):
        service.retry_message(db.session, message.id, actor="sup@example.fr")


def test_sending_twice_sends_once(app: Flask, smtp_server: Mailbox) -> None:
    dossier = make_dossier(db.session)
    with unit_of_work() as session:
        message = service.enqueue_message(
            session,
            dossier,
            "documents_requested",
            "email",
            "x@example.fr",
            {"order_number": "1", "items": [], "person": dossier.holder},
            dedup_key="once",
        )
    assert service.send_message(db.session, message.id) == "sent"
    assert len(smtp_server.messages) == 1


def test_activation_code_goes_to_the_holder_by_the_chosen_channel_and_is_never_stored(
    app: Flask, smtp_server: Mailbox
) -> None:
    holder = make_person(PersonRole.HOLDER, activation_code_channel="email")
    dossier = make_approved_dossier(
        db.session, people=[holder, make_person(PersonRole.LEGAL_REPRESENTATIVE)]
    )
    issue_certificate(db.session, dossier.id)
    db.session.commit()
    serial = db.session.scalar(sa.select(Certificate.serial_number))
    with unit_of_work() as session:
        service.notify_activation_code(session, dossier, str(serial))

    [stored] = _messages("activation_code")
    assert stored.recipient == "c.durand@ateliers-morel.fr"
    assert ACTIVATION_PLACEHOLDER in stored.body
    assert not re.search(r"\d{8}", stored.body)
    [mail] = [m for m in smtp_server.messages if "activation" in m["Subject"]]
    content = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    code = re.search(r"^\s+(\d{8})\s*$", content, re.MULTILINE)
    assert code is not None
    assert code.group(1) == service.activation_code_for(str(serial))


def test_activation_code_is_withheld_when_the_holders_contact_is_the_mandataires(
    app: Flask,
) -> None:
    holder = make_person(PersonRole.HOLDER, activation_code_channel="sms", mobile="0611223344")
    mandataire = make_person(
        PersonRole.MANDATAIRE,
        first_name="MARC",
        last_name="ROUX",
        email="m.roux@ateliers-morel.fr",
        mobile="+33 6 11 22 33 44",
    )
    dossier = make_dossier(
        db.session, people=[holder, make_person(PersonRole.LEGAL_REPRESENTATIVE), mandataire]
    )
    assert service.notify_activation_code(db.session, dossier, "0A1B2C") is None
    assert _messages("activation_code") == []
    withheld = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.event_type == "notify.activation_withheld")
    ).all()
    assert [e.payload["reason"] for e in withheld] == [
        "la coordonnée du porteur est celle du mandataire"
    ]


def test_unknown_template_is_refused(app: Flask) -> None:
    with pytest.raises(service.NotifyError):
        service.render("lettre_au_pere_noel", "email", {})
