"""Delivery screens (French): shipments and their labels; the pickup call list, call log,
slot booking and hand-over. Thin: parse the form, call one service in a unit of work,
flash the outcome, redirect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ra_workbench.accounts.models import User
from ra_workbench.accounts.permissions import requires
from ra_workbench.certificates.models import Certificate
from ra_workbench.certificates.register import active_certificate
from ra_workbench.db import utcnow
from ra_workbench.delivery import service
from ra_workbench.delivery.forms import FrenchDateField, SlotSeriesForm
from ra_workbench.delivery.models import Appointment, Handover, Shipment
from ra_workbench.delivery.slots import latest_location, open_series_by
from ra_workbench.dossiers.models import ROLE_LABELS_FR, Dossier
from ra_workbench.dossiers.states import TransitionError
from ra_workbench.extensions import db
from ra_workbench.review.queue import search_condition
from ra_workbench.unit import unit_of_work

bp = Blueprint("delivery", __name__, url_prefix="/remise")
PERMISSION = "delivery:dossier:manage"


class ActionForm(FlaskForm):
    """A button carrying only the CSRF token."""


class ShipmentStateForm(FlaskForm):
    state = SelectField(
        "Nouvel état",
        choices=[(k, v) for k, v in service.SHIPMENT_STATE_LABELS_FR.items() if k != "prepared"],
        validators=[DataRequired()],
    )


class CallForm(FlaskForm):
    person_role = SelectField("Personne appelée", validators=[DataRequired()])
    outcome = SelectField(
        "Résultat",
        choices=list(service.CALL_OUTCOME_LABELS_FR.items()),
        validators=[DataRequired()],
    )
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)])


class BookingForm(FlaskForm):
    slot_id = SelectField("Créneau", coerce=int, validators=[DataRequired()])


class HandoverForm(FlaskForm):
    # The holder only (REQ 12): not a choice on the page. A hidden field, so that a forged
    # recipient reaches the service, which refuses it and writes the attempt to the trail.
    handed_to_role = HiddenField("Remise à", default="holder", validators=[DataRequired()])
    identity_document_number = StringField(
        "Numéro de la pièce présentée", validators=[DataRequired(), Length(max=60)]
    )
    other_document = BooleanField("Le porteur présente une autre pièce d'identité valide")
    other_document_type = SelectField(
        "Type de l'autre pièce",
        choices=[("", "—"), *service.IDENTITY_DOCUMENT_LABELS_FR.items()],
        validators=[Optional()],
    )
    other_document_expiry = FrenchDateField(
        "Date d'expiration de l'autre pièce", validators=[Optional()]
    )
    exception_reason = TextAreaField(
        "Motif de la dérogation (superviseur, remise hors rendez-vous)",
        validators=[Optional(), Length(max=2000)],
    )


def _session() -> Session:
    return cast(Session, db.session)


def _me() -> User:
    return cast(User, current_user._get_current_object())  # type: ignore[attr-defined]


def _act(
    target: str,
    success: str,
    action: Callable[[Session, User], Any],
    *,
    again: Callable[[], Any] | None = None,
) -> Any:
    """Run one service call; flash its French outcome; back to `target`. Refused, and given
    `again` (the page, rendered in this request), the page's forms still hold what was typed."""
    try:
        with unit_of_work() as session:
            action(session, _me())
    except service.HandoverRefused as exc:
        with unit_of_work() as session:
            service.record_refused_handover(session, exc, actor=_me())
        flash(str(exc), "danger")
    except (service.DeliveryError, TransitionError) as exc:
        flash(str(exc), "danger")
    else:
        flash(success, "success")
        return redirect(target)
    return again() if again is not None else redirect(target)


def _invalid(form: FlaskForm, target: str, *, again: Callable[[], Any] | None = None) -> Any:
    """A refused form: its French errors flashed; the page again in this request when
    `again` gives it (what was typed stays in the form), else back to `target`."""
    messages = [f"{form[name].label.text} : {' '.join(errs)}" for name, errs in form.errors.items()]
    flash("Formulaire incomplet — " + " ; ".join(messages), "danger")
    return again() if again is not None else redirect(target)


def _attachment(filename: str) -> str:
    return f'attachment; filename="{filename}"'


def _search() -> tuple[str, sa.ColumnElement[bool] | None]:
    """The lists' search box (« q »): the validation queue's own search, so an order number,
    an organisation, a name typed without accents or a tracking number find the same
    dossiers here as there."""
    term = request.args.get("q", "")[:200].strip()
    return term, search_condition(term)


# -- shipping --------------------------------------------------------------------------------


@bp.get("/envois")
@requires(PERMISSION)
def shipments() -> Any:
    session = _session()
    state = request.args.get("etat") or ""
    query = (
        sa.select(Shipment, Dossier, Certificate)
        .join(Dossier, Dossier.id == Shipment.dossier_id)
        .outerjoin(
            Certificate,
            sa.and_(Certificate.dossier_id == Dossier.id, Certificate.revoked_at.is_(None)),
        )
        .order_by(Shipment.prepared_at.desc())
        .limit(500)
    )
    if state in service.SHIPMENT_STATE_LABELS_FR:
        query = query.where(Shipment.state == state)
    term, matching = _search()
    if matching is not None:
        query = query.where(matching)
    rows = session.execute(query).unique().all()
    return render_template(
        "delivery/shipments.html",
        rows=rows,
        state=state,
        search=term,
        state_labels=service.SHIPMENT_STATE_LABELS_FR,
        transitions=service.SHIPMENT_TRANSITIONS,
        address_lines=service.address_lines,
    )


@bp.get("/envois/<int:shipment_id>/etiquette.pdf")
@requires(PERMISSION)
def shipment_label(shipment_id: int) -> Any:
    session = _session()
    shipment = session.get(Shipment, shipment_id)
    if shipment is None:
        abort(404)
    return Response(
        service.shipment_label_pdf(session, shipment),
        mimetype="application/pdf",
        headers={"Content-Disposition": _attachment(f"etiquette-{shipment.tracking_number}.pdf")},
    )


@bp.post("/envois/<int:shipment_id>/etat")
@requires(PERMISSION)
def shipment_state(shipment_id: int) -> Any:
    form = ShipmentStateForm()
    target = url_for(".shipments")
    if not form.validate_on_submit():
        return _invalid(form, target)
    new_state = form.state.data or ""
    return _act(
        target,
        f"Envoi passé à l'état « {service.SHIPMENT_STATE_LABELS_FR[new_state]} ».",
        lambda s, u: service.change_shipment_state(s, shipment_id, new_state, actor=u),
    )


# -- pickup ----------------------------------------------------------------------------------


@bp.get("/retraits")
@requires(PERMISSION)
def call_list_page() -> Any:
    term, matching = _search()
    return render_template(
        "delivery/call_list.html",
        entries=service.call_list(_session(), matching),
        search=term,
        outcome_labels=service.CALL_OUTCOME_LABELS_FR,
        local_time=service.local_time,
    )


@bp.get("/retraits/<int:dossier_id>")
@requires(PERMISSION)
def pickup_page(dossier_id: int) -> Any:
    session = _session()
    dossier = session.get(Dossier, dossier_id)
    if dossier is None or dossier.delivery_mode != "pickup":
        abort(404)
    people = service.people_to_call(dossier)
    call_form = CallForm()
    call_form.person_role.choices = [(p.role, f"{p.role_label} — {p.name}") for p in people]
    slots = service.available_slots(session)
    appointment = service.current_appointment(session, dossier)
    choices = [
        (
            s.id,
            f"{service.local_time(s.starts_at):%d/%m/%Y %H:%M}–"
            f"{service.local_time(s.ends_at):%H:%M} · {s.location} "
            f"({s.capacity - s.booked} place(s))",
        )
        for s in slots
    ]
    booking_form = BookingForm()
    booking_form.slot_id.choices = choices
    # Moving offers every other slot, never the one the appointment already holds.
    move_form = BookingForm(prefix="move")
    move_form.slot_id.choices = [
        c for c in choices if appointment is None or c[0] != appointment.slot_id
    ]
    certificate = active_certificate(session, dossier.id)
    handover = session.scalar(sa.select(Handover).where(Handover.dossier_id == dossier.id))
    verified = (
        service.verified_identity(session, dossier)
        if handover is None or handover.state != "done"
        else None
    )
    return render_template(
        "delivery/pickup.html",
        dossier=dossier,
        people=people,
        calls=service.call_attempts(session, dossier.id),
        appointment=appointment,
        history=service.appointment_history(session, dossier.id),
        change_labels=service.APPOINTMENT_CHANGE_LABELS_FR,
        certificate=certificate,
        handover=handover,
        verified=verified,
        photo=verified.photo_side(dossier) if verified is not None else None,
        appointment_today=service.appointment_today(session, dossier),
        can_grant_exception=_me().can(service.EXCEPTION_PERMISSION),
        document_labels=service.IDENTITY_DOCUMENT_LABELS_FR,
        call_form=call_form,
        booking_form=booking_form,
        move_form=move_form,
        handover_form=HandoverForm(),
        action_form=ActionForm(),
        outcome_labels=service.CALL_OUTCOME_LABELS_FR,
        role_labels=ROLE_LABELS_FR,
        local_time=service.local_time,
        summary=service.delivery_summary(session, dossier),
    )


@bp.post("/retraits/<int:dossier_id>/appels")
@requires(PERMISSION)
def log_call(dossier_id: int) -> Any:
    form = CallForm()
    form.person_role.choices = [(r, r) for r in ROLE_LABELS_FR]
    target = url_for(".pickup_page", dossier_id=dossier_id)
    if not form.validate_on_submit():
        return _invalid(form, target, again=lambda: pickup_page(dossier_id))
    role, outcome, note = form.person_role.data or "", form.outcome.data or "", form.note.data
    return _act(
        target,
        "Appel enregistré.",
        lambda s, u: service.log_call(
            s, dossier_id, person_role=role, outcome=outcome, note=note or "", actor=u
        ),
        again=lambda: pickup_page(dossier_id),
    )


def _posted_slot(field: str) -> int | None:
    """The slot chosen in a booking or moving form (the service checks it exists)."""
    try:
        return int(request.form.get(field, ""))
    except ValueError:
        return None


@bp.post("/retraits/<int:dossier_id>/rendez-vous")
@requires(PERMISSION)
def book(dossier_id: int) -> Any:
    target = url_for(".pickup_page", dossier_id=dossier_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    slot_id = _posted_slot("slot_id")
    if slot_id is None:
        flash("Choisissez un créneau.", "danger")
        return redirect(target)
    return _act(
        target,
        "Rendez-vous fixé ; la confirmation est partie dans la boîte d'envoi.",
        lambda s, u: service.book_slot(s, dossier_id, slot_id, actor=u),
    )


def _appointment_page(appointment_id: int) -> str:
    """The pickup page an appointment's button came from (a signed form, or 400; 404)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    appointment = _session().get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    return url_for(".pickup_page", dossier_id=appointment.dossier_id)


@bp.post("/rendez-vous/<int:appointment_id>/annuler")
@requires(PERMISSION)
def cancel(appointment_id: int) -> Any:
    target = _appointment_page(appointment_id)
    return _act(
        target,
        "Rendez-vous annulé ; l'annulation est partie dans la boîte d'envoi.",
        lambda s, u: service.cancel_appointment(s, appointment_id, actor=u),
    )


@bp.post("/rendez-vous/<int:appointment_id>/deplacer")
@requires(PERMISSION)
def move(appointment_id: int) -> Any:
    target = _appointment_page(appointment_id)
    slot_id = _posted_slot("move-slot_id")
    if slot_id is None:
        flash("Choisissez le nouveau créneau.", "danger")
        return redirect(target)
    return _act(
        target,
        "Rendez-vous déplacé ; la mise à jour est partie dans la boîte d'envoi.",
        lambda s, u: service.move_appointment(s, appointment_id, slot_id, actor=u),
    )


@bp.get("/rendez-vous/<int:appointment_id>.ics")
@requires(PERMISSION)
def appointment_ics(appointment_id: int) -> Any:
    session = _session()
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    dossier = session.get(Dossier, appointment.dossier_id)
    if dossier is None:
        abort(404)
    return Response(
        service.appointment_ics(dossier, appointment),
        mimetype="text/calendar",
        headers={"Content-Disposition": _attachment(f"rendez-vous-{dossier.order_number}.ics")},
    )


@bp.post("/retraits/<int:dossier_id>/remise")
@requires(PERMISSION)
def handover(dossier_id: int) -> Any:
    form = HandoverForm()
    target = url_for(".pickup_page", dossier_id=dossier_id)
    if not form.validate_on_submit():
        return _invalid(form, target, again=lambda: pickup_page(dossier_id))
    role = form.handed_to_role.data or ""
    number = form.identity_document_number.data or ""
    other: service.OtherDocument | None = None
    if form.other_document.data:
        if not form.other_document_type.data or form.other_document_expiry.data is None:
            flash("Autre pièce : indiquez son type et sa date d'expiration.", "danger")
            return pickup_page(dossier_id)
        other = service.OtherDocument(
            form.other_document_type.data, form.other_document_expiry.data
        )
    reason = form.exception_reason.data or None
    return _act(
        target,
        "Remise enregistrée ; le code d'activation part vers le porteur."
        if other is None
        else "Autre pièce enregistrée : un second agent doit confirmer la remise.",
        lambda s, u: service.record_handover(
            s,
            dossier_id,
            handed_by=u,
            handed_to_role=role,
            document_number=number,
            other_document=other,
            exception_reason=reason,
        ),
        again=lambda: pickup_page(dossier_id),
    )


@bp.post("/retraits/<int:dossier_id>/remise/confirmer")
@requires(PERMISSION)
def confirm_handover(dossier_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(
        url_for(".pickup_page", dossier_id=dossier_id),
        "Remise confirmée ; le code d'activation part vers le porteur.",
        lambda s, u: service.confirm_handover(s, dossier_id, confirmed_by=u),
    )


@bp.get("/creneaux")
@requires(PERMISSION)
def slots() -> Any:
    return render_template(
        "delivery/slots.html",
        slots=service.upcoming_slots(_session()),
        local_time=service.local_time,
    )


# -- pickup slots opened as a series (admins) -----------------------------------------------

# Slots are reference data, as the offers: the administrators' to open.
SLOTS_PERMISSION = "admin:reference:manage"


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n < 2 else plural}"  # French: 0 and 1 take the singular


@bp.route("/creneaux/serie", methods=["GET", "POST"])
@requires(SLOTS_PERMISSION)
def slot_series() -> Any:
    form = SlotSeriesForm()
    if not form.is_submitted() and not form.location.data:
        form.location.data = latest_location(_session())
    series = None
    if form.validate_on_submit():
        try:
            series = form.series()
        except ValueError as exc:
            flash(f"Série refusée : {exc}.", "danger")
    if series is None:
        status = 422 if form.is_submitted() else 200
        return render_template("delivery/slot_series.html", form=form), status
    with unit_of_work() as session:
        opened = open_series_by(session, series, actor=_me(), not_before=utcnow())
    flash(
        f"{_count(opened.created, 'créneau ouvert', 'créneaux ouverts')} ; "
        f"{opened.existing} {'existait' if opened.existing < 2 else 'existaient'} déjà.",
        "success",
    )
    return redirect(url_for(".slots"))
