"""Flask-Admin screens for administrators: staff accounts, offers, pickup slots.

Only the `admin` role gets in (every view checks it); password hashes are never shown
nor editable (a new password is hashed by accounts.service); every change is audited
as `admin.change`. Forms are Flask-WTF forms so that the app-wide CSRF protection
applies here too, and Flask-Admin's scripts get the per-request CSP nonce.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from babel.numbers import format_currency
from flask import Flask, abort, flash, g, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin import babel as flask_admin_babel
from flask_admin.contrib.sqla import ModelView
from flask_admin.menu import MenuLink
from flask_admin.model import typefmt
from flask_admin.theme import Bootstrap4Theme
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import BooleanField, PasswordField, SelectField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ra_workbench.accounts import sessions as staff_sessions
from ra_workbench.accounts.keys import remove_all_keys
from ra_workbench.accounts.mfa import reset_second_factor
from ra_workbench.accounts.models import ROLE_LABELS_FR, Offer, Role, User
from ra_workbench.accounts.service import (
    MIN_PASSWORD_LENGTH,
    AccountError,
    create_user,
    hash_password,
)
from ra_workbench.audit.service import record
from ra_workbench.clock import PARIS
from ra_workbench.delivery.forms import MAX_CAPACITY, ParisDateTimeField
from ra_workbench.delivery.models import PickupSlot
from ra_workbench.extensions import db

ADMIN_PERMISSION = "admin:users:manage"


def _session() -> Session:
    return cast(Session, db.session)


def _allowed() -> bool:
    return bool(current_user.is_authenticated and current_user.can(ADMIN_PERMISSION))


def _refuse() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    abort(403)


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return str(g.csp_nonce)


class SecureIndexView(AdminIndexView):
    def is_accessible(self) -> bool:
        return _allowed()

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        return _refuse()

    @expose("/")
    def index(self) -> Any:
        return self.render("admin/index.html")


class AdminForm(FlaskForm):
    """Flask-WTF's CSRF with what Flask-Admin's own base form keeps: the edited object, which
    its unique validators compare against (without it, saving an account under its own
    unchanged e-mail address failed with « Already exists »)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._obj = kwargs.get("obj")
        super().__init__(*args, **kwargs)


def _paris_moment(_view: Any, value: dt.datetime) -> str:
    """A stored moment (UTC) as staff read it: « 03/12/2026 15:01 », Paris time."""
    when = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return when.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def _french_day(_view: Any, value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


def _euros(_view: Any, value: Decimal) -> str:
    """Amounts (the offers' prices) the French way: « 228,00 € »."""
    return format_currency(value, "EUR", locale="fr_FR")


# Flask-Admin prints datetimes and decimals as Python does (« 2026-12-03 14:01:29.03+00:00 »,
# « 228.00 »).
MOMENT_FORMATTERS = {
    **typefmt.BASE_FORMATTERS,
    dt.datetime: _paris_moment,
    dt.date: _french_day,
    Decimal: _euros,
}
MOMENT_DETAIL_FORMATTERS = {
    **typefmt.DETAIL_FORMATTERS,
    dt.datetime: _paris_moment,
    dt.date: _french_day,
    Decimal: _euros,
}


class AuditedModelView(ModelView):
    form_base_class = AdminForm
    can_view_details = True
    page_size = 50
    column_type_formatters = MOMENT_FORMATTERS
    column_type_formatters_detail = MOMENT_DETAIL_FORMATTERS

    def is_accessible(self) -> bool:
        return _allowed()

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        return _refuse()

    def _audit(self, model: Any, action: str, fields: list[str]) -> None:
        db.session.flush()
        record(
            _session(),
            "admin.change",
            actor=current_user.email,
            actor_id=current_user.id,
            payload={
                "model": model.__tablename__,
                "id": model.id,
                "action": action,
                "fields": sorted(f for f in fields if "password" not in f and f != "csrf_token"),
            },
        )

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        changed = [name for name, field in form._fields.items() if field.data is not None]
        self._audit(model, "create" if is_created else "update", changed)

    def on_model_delete(self, model: Any) -> None:
        self._audit(model, "delete", [])


class UserView(AuditedModelView):
    can_delete = False  # accounts are deactivated, never deleted: the audit trail names them
    column_list = (
        "email",
        "first_name",
        "last_name",
        "role",
        "active",
        "failed_logins",
        "locked_until",
        "last_login_at",
        "totp_confirmed_at",
        "created_at",
    )
    column_details_exclude_list = ("password_hash", "totp_secret", "totp_last_step")
    column_exclude_list = ("password_hash", "totp_secret", "totp_last_step")
    column_searchable_list = ("email", "last_name")
    column_filters = ("role", "active")
    column_labels = {
        "email": "Adresse de messagerie",
        "first_name": "Prénom",
        "last_name": "Nom",
        "role": "Rôle",
        "active": "Actif",
        "failed_logins": "Échecs de connexion",
        "locked_until": "Verrouillé jusqu'à",
        "last_login_at": "Dernière connexion",
        "created_at": "Créé le",
        "new_password": "Nouveau mot de passe",
        "totp_confirmed_at": "Second facteur depuis",
        "reset_second_factor": "Réinitialiser le second facteur",
    }
    column_formatters = {"role": lambda _v, _c, m, _p: ROLE_LABELS_FR.get(m.role, m.role)}
    form_columns = (
        "email",
        "first_name",
        "last_name",
        "role",
        "active",
        "new_password",
        "reset_second_factor",
    )
    form_extra_fields = {
        "reset_second_factor": BooleanField(
            "Réinitialiser le second facteur",
            description=(
                "Téléphone, clés de sécurité et codes de secours perdus : ils sont tous "
                "retirés, la personne enrôlera une nouvelle application à sa prochaine "
                "connexion. Ses sessions prennent fin."
            ),
        ),
        "new_password": PasswordField(
            "Nouveau mot de passe",
            validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH)],
            description="Laisser vide pour ne pas le changer (obligatoire à la création).",
        ),
    }
    form_overrides = {"role": SelectField}
    form_args = {"role": {"choices": [(r, ROLE_LABELS_FR[r]) for r in Role.ALL]}}

    def create_model(self, form: Any) -> Any:
        try:
            user = create_user(
                _session(),
                email=form.email.data or "",
                password=form.new_password.data or "",
                role=form.role.data or "",
                first_name=form.first_name.data or "",
                last_name=form.last_name.data or "",
                actor=current_user.email,
            )
            user.active = bool(form.active.data)
            self._audit(user, "create", ["email", "first_name", "last_name", "role", "active"])
            db.session.commit()
        except AccountError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return False
        return user

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        new_password = form.new_password.data if "new_password" in form else None
        if new_password:
            model.password_hash = hash_password(new_password)
            model.failed_logins = 0
            model.locked_until = None
        reset = "reset_second_factor" in form and bool(form.reset_second_factor.data)
        if reset:
            reset_second_factor(_session(), model, actor=current_user.email)
            remove_all_keys(_session(), model, actor=current_user.email)
        history = sa.inspect(model).attrs
        # A deactivated account, a new role, a new password or a reset factor: whoever holds
        # one of its sessions signs in again, under the new terms.
        if not is_created and (
            reset
            or new_password
            or history.active.history.has_changes()
            or history.role.history.has_changes()
        ):
            staff_sessions.revoke_all(
                _session(), model, by=current_user.email, reason="account_changed"
            )
        super().on_model_change(form, model, is_created)


class OfferView(AuditedModelView):
    column_list = ("code", "label", "price_ttc", "active")
    column_searchable_list = ("code", "label")
    column_labels = {
        "code": "Code",
        "label": "Libellé",
        "price_ttc": "Prix TTC",
        "active": "Active",
    }


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Admins type Paris local times; the database keeps UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=PARIS)
    return value.astimezone(dt.UTC)


class PickupSlotView(AuditedModelView):
    """One slot at a time (a correction, a one-off opening): series are opened from the
    staff screen « Ouvrir des créneaux récurrents » (delivery.slot_series)."""

    column_list = ("starts_at", "ends_at", "location", "capacity", "booked")
    column_default_sort = "starts_at"
    column_labels = {
        "starts_at": "Début",
        "ends_at": "Fin",
        "location": "Lieu",
        "capacity": "Capacité",
        "booked": "Réservés",
    }
    form_columns = ("starts_at", "ends_at", "location", "capacity")
    # UTCDateTime is a TypeDecorator Flask-Admin does not map; its own date-time field comes
    # with an English picker that rewrites what is typed: ours instead, with the staff
    # screens' French calendar (Monday first), which also reads 03/12/2026 10:00 typed.
    form_overrides = {"starts_at": ParisDateTimeField, "ends_at": ParisDateTimeField}

    @property
    def extra_css(self) -> list[str]:  # type: ignore[override]
        return [url_for("static", filename="vendor/flatpickr/flatpickr.min.css")]

    @property
    def extra_js(self) -> list[str]:  # type: ignore[override]
        return [
            url_for("static", filename=name)
            for name in (
                "vendor/flatpickr/flatpickr.min.js",
                "vendor/flatpickr/l10n/fr.js",
                "datepicker.js",
            )
        ]

    form_args = {
        "starts_at": {
            "label": "Début (heure de Paris)",
            "validators": [InputRequired("indiquez la date et l'heure")],
        },
        "ends_at": {
            "label": "Fin (heure de Paris)",
            "validators": [InputRequired("indiquez la date et l'heure")],
        },
        "location": {
            "label": "Lieu",
            "validators": [DataRequired("indiquez le lieu du retrait"), Length(max=300)],
        },
        "capacity": {
            "label": "Capacité",
            "validators": [
                InputRequired("indiquez une capacité"),
                NumberRange(1, MAX_CAPACITY, f"de 1 à {MAX_CAPACITY} personnes"),
            ],
        },
    }
    column_formatters = {
        "starts_at": lambda _v, _c, m, _p: m.starts_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M"),
        "ends_at": lambda _v, _c, m, _p: m.ends_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M"),
    }

    def validate_form(self, form: Any) -> bool:
        """What the table's constraints and the model say, next to the field concerned, in
        French (rather than « Échec dans la création de l'objet » and the database's words)."""
        valid = bool(super().validate_form(form))
        if "starts_at" not in form or not form.is_submitted():
            return valid  # the list's delete and action forms
        starts, ends = _as_utc(form.starts_at.data), _as_utc(form.ends_at.data)
        if starts is not None and ends is not None and ends <= starts:
            form.ends_at.errors = [*form.ends_at.errors, "La fin doit suivre le début."]
            valid = False
        slot = getattr(form, "_obj", None)
        booked = slot.booked if slot is not None else 0
        capacity = form.capacity.data
        if capacity is not None and booked and capacity < booked:
            form.capacity.errors = [
                *form.capacity.errors,
                f"La capacité ne peut pas être inférieure aux places déjà réservées ({booked}).",
            ]
            valid = False
        return valid

    def handle_view_exception(self, exc: Exception) -> bool:
        # A booking that landed between the check above and the commit.
        if isinstance(exc, sa.exc.IntegrityError) and "booked_within_capacity" in str(exc.orig):
            flash("La capacité ne peut pas être inférieure aux places déjà réservées.", "error")
            return True
        return bool(super().handle_view_exception(exc))

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        model.starts_at = _as_utc(model.starts_at)
        model.ends_at = _as_utc(model.ends_at)
        super().on_model_change(form, model, is_created)


ADMIN_TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def _complete_french_catalogue() -> None:
    """Flask-Admin 2.x's French catalogue leaves a few messages in English (« Failed to
    create record. »): ours (translations/fr/LC_MESSAGES/admin.po) is read first, then
    Flask-Admin's, which wins wherever it has a translation. Added to the domain itself
    rather than through `Admin(translations_path=…)`, which only counts inside a view while
    Flask-Babel caches the catalogue of the first call for the whole process."""
    directories = flask_admin_babel.domain._translation_directories
    if str(ADMIN_TRANSLATIONS) not in directories:
        directories.insert(0, str(ADMIN_TRANSLATIONS))
        flask_admin_babel.domain.cache.clear()


def init_admin(app: Flask) -> Admin:
    admin = Admin(
        app,
        name="RA Workbench — administration",
        url="/admin",
        index_view=SecureIndexView(name="Accueil", url="/admin"),
        theme=Bootstrap4Theme(swatch="default", fluid=True, base_template="admin/ra_base.html"),
        csp_nonce_generator=csp_nonce,
    )
    _complete_french_catalogue()
    admin.add_view(UserView(User, db, name="Comptes du personnel", endpoint="admin_users"))
    admin.add_view(OfferView(Offer, db, name="Offres", endpoint="admin_offers"))
    admin.add_view(
        PickupSlotView(PickupSlot, db, name="Créneaux de retrait", endpoint="admin_slots")
    )
    admin.add_link(MenuLink(name="Sessions ouvertes", url="/admin/sessions"))

    @app.after_request
    def _admin_csp(response: Any) -> Any:
        # Runs before the app-wide headers (which only set what is missing): Flask-Admin
        # pages carry a few inline scripts, allowed by this request's nonce only.
        nonce = g.get("csp_nonce")
        if nonce and response.mimetype == "text/html" and not response.direct_passthrough:
            # Flask-Admin's base template writes a bare <html>: the page is in French.
            response.set_data(response.get_data().replace(b"<html>", b'<html lang="fr">', 1))
        if nonce:
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                f"script-src 'self' 'nonce-{nonce}'; frame-ancestors 'none'; "
                "object-src 'none'; base-uri 'self'"
            )
        return response

    return admin
