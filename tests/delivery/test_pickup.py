"""Pickup: call list, call log, slot booking (capacity under concurrency), .ics, hand-over."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading

import icalendar
import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient

from ra_workbench.accounts.models import User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.delivery import service
from ra_workbench.delivery.models import Appointment, Handover, PickupSlot
from ra_workbench.documents.models import Document
from ra_workbench.dossiers.models import Dossier, PersonRole
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.issuance.service import issue_certificate
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.unit import unit_of_work
from tests.auth import sign_in
from tests.factories import (
    make_approved_dossier,
    make_person,
    make_slot,
    make_slot_today,
    make_user,
)


def _pickup_dossier(**overrides: object) -> Dossier:
    dossier = make_approved_dossier(db.session, delivery_mode="pickup", **overrides)
    issue_certificate(db.session, dossier.id)
    assert dossier.status == DossierStatus.DELIVERY_SCHEDULED.value
    return dossier


def _with_mandataire() -> list:
    return [
        make_person(PersonRole.HOLDER),
        make_person(PersonRole.LEGAL_REPRESENTATIVE),
        make_person(
            PersonRole.MANDATAIRE,
            first_name="MARC",
            last_name="ROUX",
            email="m.roux@ateliers-morel.fr",
            mobile="0755443322",
        ),
    ]


def _messages(template: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.template == template))
    )


def _token_serial(dossier: Dossier) -> str:
    """The serial issuance read from the token it prepared (never typed at the desk)."""
    certificate = db.session.scalar(
        sa.select(Certificate).where(Certificate.dossier_id == dossier.id)
    )
    assert certificate is not None
    assert certificate.token_serial
    return certificate.token_serial


def test_call_list_names_holder_mandataire_and_legal_representative_with_numbers(
    app: Flask,
) -> None:
    dossier = _pickup_dossier(people=_with_mandataire())
    operator = make_user(db.session)
    service.log_call(
        db.session, dossier.id, person_role="mandataire", outcome="no_answer", actor=operator
    )
    service.log_call(
        db.session,
        dossier.id,
        person_role="holder",
        outcome="reached",
        note="Disponible jeudi matin",
        actor=operator,
    )

    [entry] = service.call_list(db.session)
    assert entry.dossier.id == dossier.id
    assert [(p.role_label, p.name, p.phone) for p in entry.people] == [
        ("Porteur", "CLAIRE DURAND", "0698765432"),
        ("Mandataire de certification", "MARC ROUX", "0755443322"),
        ("Représentant légal", "PAUL MOREL", "+33612345678"),
    ]
    assert entry.attempts == 2
    assert entry.last_attempt is not None
    assert entry.last_attempt.outcome == "reached"
    assert entry.appointment is None
    with pytest.raises(service.DeliveryError, match="inconnu"):
        service.log_call(
            db.session, dossier.id, person_role="holder", outcome="lost", actor=operator
        )


def test_booking_confirms_by_mail_and_a_dossier_is_never_booked_twice(app: Flask) -> None:
    dossier = _pickup_dossier()
    operator = make_user(db.session)
    first, second = make_slot(db.session, capacity=3), make_slot(db.session, capacity=3)

    appointment = service.book_slot(db.session, dossier.id, first.id, actor=operator)
    assert first.booked == 1
    assert service.delivery_summary(db.session, dossier)["state"] == "appointment_booked"  # type: ignore[index]
    with pytest.raises(service.DeliveryError, match="déjà fixé"):
        service.book_slot(db.session, dossier.id, second.id, actor=operator)
    assert second.booked == 0
    [confirmation] = _messages("appointment_confirmation")
    assert confirmation.recipient == "c.durand@ateliers-morel.fr"
    assert first.location in confirmation.body

    service.cancel_appointment(db.session, appointment.id, actor=operator)
    db.session.refresh(first)
    assert first.booked == 0
    service.book_slot(db.session, dossier.id, second.id, actor=operator)


def test_a_full_or_past_slot_cannot_be_booked(app: Flask) -> None:
    operator = make_user(db.session)
    full = make_slot(db.session, capacity=1)
    service.book_slot(db.session, _pickup_dossier().id, full.id, actor=operator)
    with pytest.raises(service.DeliveryError, match="complet"):
        service.book_slot(db.session, _pickup_dossier().id, full.id, actor=operator)
    past = make_slot(db.session, starts_in=-dt.timedelta(hours=1))
    with pytest.raises(service.DeliveryError, match="passé"):
        service.book_slot(db.session, _pickup_dossier().id, past.id, actor=operator)


def _calendar(ics: bytes) -> icalendar.Event:
    """The one event of an invitation, parsed by `icalendar` as a calendar would."""
    calendar = icalendar.Calendar.from_ical(ics)
    [event] = calendar.walk("VEVENT")
    event["method"] = str(calendar["METHOD"])  # carried along for the assertions
    return event


def _ics_of(message: OutboxMessage) -> bytes:
    [attachment] = message.attachments
    assert (attachment["filename"], attachment["content_type"]) == (
        "rendez-vous.ics",
        "text/calendar",
    )
    return base64.b64decode(attachment["content"])


def test_an_invitation_is_an_rfc_5545_request_calendars_read(app: Flask) -> None:
    dossier = _pickup_dossier(people=_with_mandataire())
    slot = make_slot(db.session, location="Siège, 26 rue du Faubourg; Paris, 10e " + "x" * 80)
    appointment = service.book_slot(db.session, dossier.id, slot.id, actor=make_user(db.session))
    ics = service.appointment_ics(dossier, appointment)
    assert all(len(line) <= 75 for line in ics.split(b"\r\n"))  # folded by the library
    event = _calendar(ics)
    assert event["method"] == "REQUEST"
    assert event.decoded("dtstart") == slot.starts_at.astimezone(dt.UTC)
    assert event.decoded("dtend") == slot.ends_at.astimezone(dt.UTC)
    assert str(event["location"]) == slot.location
    assert str(event["uid"]) == f"appointment-{appointment.id}-{dossier.order_number}@ra-workbench"
    assert (int(event["sequence"]), str(event["status"])) == (0, "CONFIRMED")
    assert str(event["organizer"]) == "mailto:support@certeurope.fr"
    attendees = [str(a) for a in event["attendee"]]
    assert attendees == ["mailto:c.durand@ateliers-morel.fr", "mailto:m.roux@ateliers-morel.fr"]


def test_booked_moved_then_cancelled_the_customer_gets_three_invitations_of_one_event(
    app: Flask, client: FlaskClient
) -> None:
    """The operator books, moves, then cancels: the holder gets a confirmation, an update and
    a cancellation, each with an .ics for the same UID and a higher SEQUENCE, so that the
    calendar moves the event and then removes it. The pickup page keeps the history."""
    dossier = _pickup_dossier()
    operator = make_user(db.session, email="guichet@certeurope.fr")
    first = make_slot(db.session, starts_in=dt.timedelta(days=1), capacity=2)
    second = make_slot(db.session, starts_in=dt.timedelta(days=2), capacity=2)
    appointment = service.book_slot(db.session, dossier.id, first.id, actor=operator)
    service.move_appointment(db.session, appointment.id, second.id, actor=operator)
    db.session.refresh(first)
    db.session.refresh(second)
    assert (first.booked, second.booked) == (0, 1)
    with pytest.raises(service.DeliveryError, match="déjà sur ce créneau"):
        service.move_appointment(db.session, appointment.id, second.id, actor=operator)
    service.cancel_appointment(db.session, appointment.id, actor=operator)
    db.session.refresh(second)
    assert second.booked == 0
    with pytest.raises(service.DeliveryError, match="Aucun rendez-vous à déplacer"):
        service.move_appointment(db.session, appointment.id, first.id, actor=operator)

    messages = [
        m
        for template in (
            "appointment_confirmation",
            "appointment_update",
            "appointment_cancellation",
        )
        for m in _messages(template)
    ]
    assert [m.recipient for m in messages] == ["c.durand@ateliers-morel.fr"] * 3
    events = [_calendar(_ics_of(m)) for m in messages]
    assert {str(e["uid"]) for e in events} == {service.appointment_uid(dossier, appointment)}
    assert [int(e["sequence"]) for e in events] == [0, 1, 2]
    assert [(e["method"], str(e["status"])) for e in events] == [
        ("REQUEST", "CONFIRMED"),
        ("REQUEST", "CONFIRMED"),
        ("CANCEL", "CANCELLED"),
    ]
    assert [e.decoded("dtstart") for e in events] == [
        first.starts_at.astimezone(dt.UTC),
        second.starts_at.astimezone(dt.UTC),
        second.starts_at.astimezone(dt.UTC),
    ]
    update, cancellation = messages[1], messages[2]
    assert "déplacé" in update.subject
    assert "annulé" in cancellation.subject
    assert f"{service.local_time(first.starts_at):%d/%m/%Y à %H:%M}" in update.body
    assert [e.event_type for e in _events_of(dossier)] == [
        "delivery.appointment_booked",
        "delivery.appointment_moved",
        "delivery.appointment_cancelled",
    ]
    db.session.commit()

    sign_in(client, operator)
    page = client.get(f"/remise/retraits/{dossier.id}").get_data(as_text=True)
    history = page[page.index("data-appointment-history") :]
    for line in ("Rendez-vous fixé", "Rendez-vous déplacé", "Rendez-vous annulé"):
        assert line in history
    assert f"{service.local_time(first.starts_at):%d/%m/%Y %H:%M}" in history
    assert "Réserver ce créneau" in page  # a new appointment can be booked


def _events_of(dossier: Dossier) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(
                AuditEvent.dossier_id == dossier.id,
                AuditEvent.event_type.like("delivery.appointment_%"),
            )
            .order_by(AuditEvent.seq)
        )
    )


def _booked_for_handover(**overrides: object) -> tuple[Dossier, User, PickupSlot]:
    """A pickup dossier, its appointment booked and the token prepared: the holder comes."""
    dossier = _pickup_dossier(**overrides)
    operator = make_user(db.session)
    slot = make_slot(db.session)
    service.book_slot(db.session, dossier.id, slot.id, actor=operator)
    return dossier, operator, slot


def _events(event_type: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event_type == event_type))
    )


def test_hand_over_needs_the_token_and_records_who_to_whom_and_which_document(
    app: Flask,
) -> None:
    dossier = _pickup_dossier(people=_with_mandataire())
    operator = make_user(db.session)
    slot = make_slot(db.session)
    service.book_slot(db.session, dossier.id, slot.id, actor=operator)
    # The holder shows the identity card the checks read (X4RTBPFW4), typed as it comes.
    arguments = {"handed_by": operator, "document_number": "x4rt bpfw4", "now": slot.starts_at}
    certificate = db.session.scalar(
        sa.select(Certificate).where(Certificate.dossier_id == dossier.id)
    )
    assert certificate is not None
    serial, certificate.token_serial = certificate.token_serial, None  # never on a token
    with pytest.raises(service.DeliveryError, match="pas été préparé à l'émission"):
        service.record_handover(db.session, dossier.id, handed_to_role="holder", **arguments)  # type: ignore[arg-type]
    certificate.token_serial = serial
    for someone_else in ("mandataire", "legal_representative"):
        with pytest.raises(service.HandoverRefused, match="qu'au porteur, en main propre"):
            service.record_handover(
                db.session,
                dossier.id,
                handed_to_role=someone_else,
                **arguments,  # type: ignore[arg-type]
            )

    handover = service.record_handover(
        db.session,
        dossier.id,
        handed_to_role="holder",
        **arguments,  # type: ignore[arg-type]
    )
    verified = db.session.scalar(
        sa.select(Document).where(Document.dossier_id == dossier.id, Document.type == "identity")
    )
    assert verified is not None
    assert handover.handed_by_id == operator.id
    assert handover.handed_to_role == "holder"
    assert handover.handed_to_name == "CLAIRE DURAND"
    assert handover.state == "done"
    assert handover.document_type == "cni"
    assert handover.document_number_last4 == "PFW4"
    assert handover.document_number_sha256 == hashlib.sha256(b"X4RTBPFW4").hexdigest()
    assert handover.verified_document_id == verified.id
    assert handover.identity_document_shown == "Carte nationale d'identité n° …PFW4"
    assert handover.at == slot.starts_at
    assert dossier.status == DossierStatus.DELIVERED.value
    assert service.delivery_summary(db.session, dossier)["state"] == "handed_over"  # type: ignore[index]
    appointment = db.session.scalar(sa.select(Appointment))
    assert appointment is not None
    assert appointment.state == "done"
    assert handover.appointment_id == appointment.id
    # The token went to the holder; so does the activation code, never to the mandataire.
    [activation] = _messages("activation_code")
    assert activation.recipient == "0698765432"
    [event] = _events("delivery.handover")
    assert event.actor == operator.email
    assert event.payload["token_serial"] == _token_serial(dossier)
    assert event.payload["handed_to_role"] == "holder"
    assert event.payload["handed_by_id"] == operator.id
    assert event.payload["person_id"] == dossier.person("holder").id  # type: ignore[union-attr]
    assert event.payload["verified_document_id"] == verified.id
    assert event.payload["document_number_sha256"] == handover.document_number_sha256
    # The trail keeps ids and a hash, not the name or the document number.
    assert "DURAND" not in str(event.payload)
    assert "X4RTBPFW4" not in str(event.payload)
    assert db.session.scalar(sa.select(sa.func.count(Handover.id))) == 1


def test_operator_cannot_hand_over_on_another_identity_card_number(app: Flask) -> None:
    # Another customer's card number typed at the desk: blocked, audited, nothing handed over.
    dossier, operator, slot = _booked_for_handover()
    with pytest.raises(service.HandoverRefused, match="ne correspond pas") as refused:
        service.record_handover(
            db.session,
            dossier.id,
            handed_by=operator,
            handed_to_role="holder",
            document_number="Y9ZZ11223",
            now=slot.starts_at,
        )
    service.record_refused_handover(db.session, refused.value, actor=operator)

    [event] = _events("delivery.handover_refused")
    assert event.payload["reason"] == "document_mismatch"
    assert event.payload["document_number_sha256"] == hashlib.sha256(b"Y9ZZ11223").hexdigest()
    assert event.payload["verified_document_id"] is not None
    assert "Y9ZZ11223" not in str(event.payload)
    assert db.session.scalar(sa.select(sa.func.count(Handover.id))) == 0
    assert dossier.status == DossierStatus.DELIVERY_SCHEDULED.value
    assert _messages("activation_code") == []


def test_operator_cannot_hand_over_without_an_appointment(app: Flask) -> None:
    dossier = _pickup_dossier()
    operator = make_user(db.session)
    with pytest.raises(service.HandoverRefused, match="aucun rendez-vous n'est fixé aujourd'hui"):
        service.record_handover(
            db.session,
            dossier.id,
            handed_by=operator,
            handed_to_role="holder",
            document_number="X4RTBPFW4",
        )
    assert db.session.scalar(sa.select(sa.func.count(Handover.id))) == 0
    assert dossier.status == DossierStatus.DELIVERY_SCHEDULED.value


def test_operator_cannot_hand_over_the_day_before_the_appointment(app: Flask) -> None:
    # Two days early it used to be marked « honoré »: the appointment stays booked.
    dossier, operator, slot = _booked_for_handover()
    for early in (dt.timedelta(days=1), dt.timedelta(days=2)):
        with pytest.raises(service.HandoverRefused, match="aucun rendez-vous"):
            service.record_handover(
                db.session,
                dossier.id,
                handed_by=operator,
                handed_to_role="holder",
                document_number="X4RTBPFW4",
                now=slot.starts_at - early,
            )
    appointment = db.session.scalar(sa.select(Appointment))
    assert appointment is not None
    assert appointment.state == "booked"
    assert db.session.scalar(sa.select(sa.func.count(Handover.id))) == 0


def test_supervisor_hands_over_outside_the_appointment_by_a_recorded_exception(
    app: Flask,
) -> None:
    dossier, operator, slot = _booked_for_handover()
    early = slot.starts_at - dt.timedelta(days=2)
    reason = "Porteur hospitalisé le jour du rendez-vous, venu avant"
    with pytest.raises(service.DeliveryError, match="Seul un superviseur"):
        service.record_handover(
            db.session,
            dossier.id,
            handed_by=operator,
            handed_to_role="holder",
            document_number="X4RTBPFW4",
            exception_reason=reason,
            now=early,
        )
    supervisor = make_user(db.session, "supervisor")
    with pytest.raises(service.DeliveryError, match="motif de la dérogation"):
        service.record_handover(
            db.session,
            dossier.id,
            handed_by=supervisor,
            handed_to_role="holder",
            document_number="X4RTBPFW4",
            exception_reason="urgent",
            now=early,
        )

    handover = service.record_handover(
        db.session,
        dossier.id,
        handed_by=supervisor,
        handed_to_role="holder",
        document_number="X4RTBPFW4",
        exception_reason=reason,
        now=early,
    )
    assert handover.state == "done"
    assert (handover.exception_by_id, handover.exception_reason) == (supervisor.id, reason)
    assert handover.appointment_id is None
    assert dossier.status == DossierStatus.DELIVERED.value
    [exception] = _events("delivery.handover_exception")
    assert exception.actor == supervisor.email
    assert exception.payload == {"handover_id": handover.id, "reason": reason}
    [event] = _events("delivery.handover")
    assert event.payload["exception_by_id"] == supervisor.id


def test_another_document_needs_a_second_staff_member_not_the_same_one(app: Flask) -> None:
    # The holder left the identity card at home and shows her passport.
    dossier, operator, slot = _booked_for_handover()
    passport = service.OtherDocument("passport", dt.date(2033, 5, 1))
    with pytest.raises(service.DeliveryError, match="expirée"):
        service.record_handover(
            db.session,
            dossier.id,
            handed_by=operator,
            handed_to_role="holder",
            document_number="19AB12345",
            other_document=service.OtherDocument("passport", dt.date(2020, 1, 1)),
            now=slot.starts_at,
        )
    pending = service.record_handover(
        db.session,
        dossier.id,
        handed_by=operator,
        handed_to_role="holder",
        document_number="19ab 12345",
        other_document=passport,
        now=slot.starts_at,
    )
    assert pending.state == "awaiting_confirmation"
    assert (pending.document_type, pending.document_number_last4) == ("passport", "2345")
    assert pending.other_document_expiry == dt.date(2033, 5, 1)
    assert pending.verified_document_id is None
    # Not handed over yet: no « remis », no activation code.
    assert dossier.status == DossierStatus.DELIVERY_SCHEDULED.value
    assert _messages("activation_code") == []
    assert _events("delivery.handover") == []
    [waiting] = _events("delivery.handover_awaiting_confirmation")
    assert "19AB12345" not in str(waiting.payload)

    with pytest.raises(service.DeliveryError, match="un second agent, différent"):
        service.confirm_handover(db.session, dossier.id, confirmed_by=operator, now=slot.starts_at)
    assert pending.state == "awaiting_confirmation"

    colleague = make_user(db.session)
    confirmed = service.confirm_handover(
        db.session, dossier.id, confirmed_by=colleague, now=slot.starts_at
    )
    assert confirmed.id == pending.id
    assert confirmed.state == "done"
    assert confirmed.confirmed_by_id == colleague.id
    assert dossier.status == DossierStatus.DELIVERED.value
    [event] = _events("delivery.handover")
    assert event.payload["other_document"] is True
    assert event.payload["handed_by_id"] == operator.id
    assert event.payload["confirmed_by_id"] == colleague.id
    assert "19AB12345" not in str(event.payload)
    assert len(_messages("activation_code")) == 1


def test_the_desk_sees_the_photo_and_mrz_on_the_appointment_day_only(
    app: Flask, client: FlaskClient
) -> None:
    dossier = _pickup_dossier()
    operator = make_user(db.session)
    slot = make_slot_today(db.session)
    appointment = service.book_slot(db.session, dossier.id, slot.id, actor=operator)
    photo = db.session.scalar(
        sa.select(Document).where(Document.dossier_id == dossier.id, Document.type == "identity")
    )
    assert photo is not None
    dossier_id, photo_id, appointment_id = dossier.id, photo.id, appointment.id
    db.session.commit()
    sign_in(client, operator)

    g.pop("_login_user", None)
    page = client.get(f"/remise/retraits/{dossier_id}").get_data(as_text=True)
    check = page.split("data-verified-identity")[1].split("</dl>")[0]
    assert f'src="/documents/{photo_id}"' in check
    assert "<dd><code>X4RTBPFW4</code></dd>" in check
    assert "<dd>CLAIRE MARIE</dd>" in check
    assert "<dd>12/04/1985</dd>" in check
    assert "Carte nationale d&#39;identité" in check
    g.pop("_login_user", None)
    image = client.get(f"/documents/{photo_id}")
    assert image.status_code == 200
    db.session.expire_all()
    [viewed] = _events("document.viewed")
    assert viewed.payload["access"] == "handover"

    # Another day (the appointment moved away): the photo is withheld again.
    db.session.get(Appointment, appointment_id).slot.starts_at += dt.timedelta(days=3)  # type: ignore[union-attr]
    db.session.commit()
    g.pop("_login_user", None)
    page = client.get(f"/remise/retraits/{dossier_id}").get_data(as_text=True)
    assert f'src="/documents/{photo_id}"' not in page
    assert "data-no-appointment-today" in page
    g.pop("_login_user", None)
    assert client.get(f"/documents/{photo_id}").status_code == 403


def test_the_mandataire_at_the_desk_is_refused_the_token_and_the_attempt_is_audited(
    app: Flask, client: FlaskClient
) -> None:
    # MARC ROUX, the mandataire, phoned to fix the appointment and comes in the holder's place.
    dossier = _pickup_dossier(people=_with_mandataire())
    operator = make_user(db.session)
    service.book_slot(db.session, dossier.id, make_slot(db.session).id, actor=operator)
    mandataire = dossier.person("mandataire")
    assert mandataire is not None
    dossier_id, mandataire_id = dossier.id, mandataire.id
    db.session.commit()
    sign_in(client, operator)

    g.pop("_login_user", None)
    page = client.get(f"/remise/retraits/{dossier_id}").get_data(as_text=True)
    handover_form = page.split(f'action="/remise/retraits/{dossier_id}/remise"')[1]
    handover_form = handover_form.split("</form>")[0]
    assert "Remise en main propre au porteur : <strong>CLAIRE DURAND</strong>" in handover_form
    # No recipient to choose: the holder, fixed.
    assert '<input id="handed_to_role" name="handed_to_role" type="hidden" value="holder">' in (
        handover_form
    )
    assert 'name="handed_to_role" required' not in handover_form
    assert "MARC ROUX" not in handover_form
    assert "PAUL MOREL" not in handover_form
    # The mandataire may still be the one phoned to fix the appointment.
    assert '<option value="mandataire">Mandataire de certification — MARC ROUX' in page
    g.pop("_login_user", None)
    response = client.post(
        f"/remise/retraits/{dossier_id}/remise",
        data={
            "handed_to_role": "mandataire",  # a forged form: the page offers no choice
            "identity_document_number": "MR1234567",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "La clé ne se remet qu&#39;au porteur, en main propre" in text
    assert "Le mandataire de certification ne peut pas la retirer à sa place" in text

    db.session.expire_all()
    [refused] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.event_type == "delivery.handover_refused")
    ).all()
    assert (refused.actor, refused.dossier_id) == (operator.email, dossier_id)
    assert refused.payload == {"handed_to_role": "mandataire", "person_id": mandataire_id}
    assert "ROUX" not in str(refused.payload)
    assert "MR1234567" not in str(refused.payload)
    # Nothing was handed over: no hand-over row, no event, the dossier and appointment wait.
    assert db.session.scalar(sa.select(sa.func.count(Handover.id))) == 0
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.event_type == "delivery.handover"
            )
        )
        == 0
    )
    refreshed = db.session.get(Dossier, dossier_id)
    assert refreshed is not None
    assert refreshed.status == DossierStatus.DELIVERY_SCHEDULED.value
    assert service.delivery_summary(db.session, refreshed)["state"] == "appointment_booked"  # type: ignore[index]
    assert _messages("activation_code") == []


def test_reminders_go_once_for_appointments_within_a_day(app: Flask) -> None:
    dossier = _pickup_dossier()
    soon = make_slot(db.session, starts_in=dt.timedelta(hours=5))
    service.book_slot(db.session, dossier.id, soon.id, actor=make_user(db.session))
    later_dossier = _pickup_dossier()
    later = make_slot(db.session, starts_in=dt.timedelta(days=3))
    service.book_slot(db.session, later_dossier.id, later.id, actor=make_user(db.session))

    assert service.remind_appointments(db.session) == 1
    assert service.remind_appointments(db.session) == 1
    reminders = _messages("appointment_reminder")
    assert sorted(m.channel for m in reminders) == ["email", "sms"]
    assert {m.dossier_id for m in reminders} == {dossier.id}


def _race(app: Flask, jobs: list[tuple[int, int]], user_id: int) -> dict[int, str]:
    """Book (dossier, slot) pairs from as many threads at once; outcome per pair index."""
    barrier = threading.Barrier(len(jobs))
    outcomes: dict[int, str] = {}

    def book(index: int, dossier_id: int, slot_id: int) -> None:
        with app.app_context():
            try:
                # Released together before touching the database (SQLite's BEGIN IMMEDIATE
                # would otherwise hold the others at their first query).
                barrier.wait(timeout=20)
                with unit_of_work() as session:
                    user = session.get(User, user_id)
                    assert user is not None
                    service.book_slot(session, dossier_id, slot_id, actor=user)
                outcomes[index] = "booked"
            except service.DeliveryError as exc:
                outcomes[index] = str(exc)
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=book, args=(i, dossier_id, slot_id))
        for i, (dossier_id, slot_id) in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_slot_capacity_holds_when_operators_book_at_the_same_time(app: Flask) -> None:
    dossiers = [_pickup_dossier() for _ in range(5)]
    slot = make_slot(db.session, capacity=2)
    user = make_user(db.session)
    ids, slot_id, user_id = [d.id for d in dossiers], slot.id, user.id
    db.session.commit()

    outcomes = _race(app, [(dossier_id, slot_id) for dossier_id in ids], user_id)

    assert len(outcomes) == 5, outcomes
    assert sorted(outcomes.values()).count("booked") == 2, outcomes
    assert all("complet" in o for o in outcomes.values() if o != "booked"), outcomes
    db.session.expire_all()
    refreshed = db.session.get(PickupSlot, slot_id)
    assert refreshed is not None
    assert refreshed.booked == 2
    assert db.session.scalar(sa.select(sa.func.count(Appointment.id))) == 2


@pytest.mark.postgres_only
@pytest.mark.parametrize("attempt", range(2))
def test_one_dossier_booked_on_two_slots_at_once_gets_one_appointment(
    app: Flask, attempt: int
) -> None:
    dossier = _pickup_dossier()
    slots = [make_slot(db.session, capacity=5), make_slot(db.session, capacity=5)]
    user = make_user(db.session)
    dossier_id, slot_ids, user_id = dossier.id, [s.id for s in slots], user.id
    db.session.commit()

    outcomes = _race(app, [(dossier_id, slot_id) for slot_id in slot_ids], user_id)

    assert sorted(outcomes.values()).count("booked") == 1, outcomes
    db.session.expire_all()
    assert sum(s.booked for s in db.session.scalars(sa.select(PickupSlot))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Appointment.id))) == 1


def test_at_the_desk_a_passport_waits_for_a_colleague_signed_in_on_another_screen(
    app: Flask, client: FlaskClient
) -> None:
    dossier = _pickup_dossier()
    operator, colleague = make_user(db.session), make_user(db.session)
    slot = make_slot_today(db.session)
    service.book_slot(db.session, dossier.id, slot.id, actor=operator)
    dossier_id = dossier.id
    db.session.commit()
    sign_in(client, operator)
    url = f"/remise/retraits/{dossier_id}"

    def post(on: FlaskClient, path: str, data: dict[str, str]) -> str:
        g.pop("_login_user", None)
        response = on.post(path, data=data, follow_redirects=True)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    page = post(
        client, f"{url}/remise", {"handed_to_role": "holder", "identity_document_number": "ZZ999"}
    )
    assert "ne correspond pas à la pièce d&#39;identité vérifiée du porteur" in page
    page = post(
        client,
        f"{url}/remise",
        {
            "handed_to_role": "holder",
            "identity_document_number": "19AB12345",
            "other_document": "y",
            "other_document_type": "passport",
            "other_document_expiry": "2033-05-01",
        },
    )
    assert "un second agent doit confirmer la remise" in page
    assert "Passeport n° …2345, expire le 01/05/2033" in page
    page = post(client, f"{url}/remise/confirmer", {})
    assert "un second agent, différent, doit la confirmer" in page

    other_screen = app.test_client()
    sign_in(other_screen, colleague)
    page = post(other_screen, f"{url}/remise/confirmer", {})
    assert "Remise confirmée" in page
    db.session.expire_all()
    handover = db.session.scalar(sa.select(Handover))
    assert handover is not None
    assert (handover.handed_by_id, handover.confirmed_by_id) == (operator.id, colleague.id)
    assert [e.payload["reason"] for e in _events("delivery.handover_refused")] == [
        "document_mismatch"
    ]
    refreshed = db.session.get(Dossier, dossier_id)
    assert refreshed is not None
    assert refreshed.status == DossierStatus.DELIVERED.value
