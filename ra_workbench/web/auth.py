"""Sign-in and sign-out for staff: password, then a second factor, on a server-side session.

1. /connexion: e-mail and password (accounts.service.authenticate: one message and the same
   work for every refusal; failures throttled per account and per client by Flask-Limiter).
   A pending session is opened (accounts.sessions) and its token kept in the cookie.
2. /connexion/verification: a TOTP code, a recovery code, or a security key
   (web/webauthn.py); an account without a second factor enrols first
   (/connexion/activation), unless it is still within the configured grace period.
3. Only then is the session verified and the user signed in: every request looks the
   session up, so logout and an admin's revocation end it at once.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from ra_workbench import logs
from ra_workbench.accounts import keys, mfa
from ra_workbench.accounts import sessions as staff_sessions
from ra_workbench.accounts.models import StaffSession, User
from ra_workbench.accounts.permissions import requires
from ra_workbench.accounts.service import authenticate, signed_in
from ra_workbench.audit.service import record
from ra_workbench.clock import local_time
from ra_workbench.db import utcnow
from ra_workbench.extensions import db, limiter, login_manager
from ra_workbench.unit import unit_of_work

bp = Blueprint("auth", __name__)

# Keys in the signed cookie (names, not secrets): the verified session's token, and the
# token of the session opened by the password that awaits its second factor.
SESSION_TOKEN = "sid"  # noqa: S105
PENDING_TOKEN = "pending_sid"  # noqa: S105
NEXT = "next_path"
SECOND_FACTOR_REFUSED_FR = "Code incorrect ou déjà utilisé."


class LoginForm(FlaskForm):
    # A plain shape check: the account lookup is what decides (no email_validator dependency).
    email = EmailField(
        "Adresse de messagerie",
        validators=[
            DataRequired(),
            Length(max=320),
            Regexp(r"^[^@\s]+@[^@\s]+$", message="Adresse de messagerie invalide."),
        ],
    )
    password = PasswordField("Mot de passe", validators=[DataRequired(), Length(max=1024)])


class CodeForm(FlaskForm):
    code = StringField(
        "Code à 6 chiffres de votre application, ou code de secours",
        validators=[DataRequired(), Length(max=32)],
    )


class GraceForm(FlaskForm):
    later = HiddenField(default="1")


def init_login(app: Flask) -> None:
    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        row = staff_sessions.find(_db(), session.get(SESSION_TOKEN))
        if row is None or str(row.user_id) != user_id:
            return None
        if row.last_seen_at is None or utcnow() - row.last_seen_at >= staff_sessions.SEEN_EVERY:
            with unit_of_work() as s:
                staff_sessions.seen(s, row)
        logs.bind(user_id=row.user_id)  # the request's log events say who
        return db.session.get(User, row.user_id)

    @app.before_request
    def _session_timeout() -> None:
        # PERMANENT_SESSION_LIFETIME = the configured idle timeout. Set once: setting it on
        # every request would mark the session modified and rewrite the cookie each time.
        if not session.permanent:
            session.permanent = True

    app.session_interface = _PageSessionInterface()
    settings = app.config["RA_SETTINGS"]
    app.config.setdefault("RA_MFA_GRACE", dt.timedelta(days=settings.mfa_grace_days))
    if settings.secure_cookies:
        # __Host-: sent only over HTTPS, to this host, for every path (no Domain attribute).
        app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_NAME="__Host-ra_session")


class _PageSessionInterface(SecureCookieSessionInterface):
    """Documents and static files never (re)write the session cookie.

    A dossier page loads many documents at once; each response carrying a copy of the
    session as it was when the request began would overwrite what a concurrent form post
    just stored (its flash message), so only pages and forms write the cookie.
    """

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if request.blueprint == "documents" or request.endpoint == "static":
            return False
        return super().should_set_cookie(app, session)


def _db() -> Session:
    return cast(Session, db.session)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None. Browsers drop tabs and newlines from
    URLs and read a backslash as a slash, so `/\\t/evil.example` means `//evil.example`:
    any control or space character, any backslash, a scheme or a host refuses it."""
    if not target or len(target) > 2000:
        return None
    if any(unicodedata.category(ch)[0] in "CZ" or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _client() -> str:
    return request.remote_addr or ""


def _login_email() -> str:
    """Per-account throttling key: the e-mail typed (folded), whatever the client."""
    return "account:" + (request.form.get("email") or "").strip().lower()[:320]


def _failed(response: Any) -> bool:
    """Only refused sign-ins count towards the limits (a success answers with a redirect)."""
    return bool(response.status_code != 302)


def pending_sign_in() -> tuple[StaffSession, User] | None:
    row = staff_sessions.find(_db(), session.get(PENDING_TOKEN), verified=False)
    if row is None or row.verified_at is not None:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return row, user


def _grace_until(user: User) -> dt.datetime | None:
    """Until when an account without a second factor may still sign in without one."""
    grace: dt.timedelta = current_app.config["RA_MFA_GRACE"]
    if user.has_totp or grace <= dt.timedelta(0):
        return None
    until = user.created_at + grace
    return until if until > utcnow() else None


def finish_sign_in(row: StaffSession, user: User, factor: str) -> Any:
    """The second factor is given: verify the session (once) and sign the user in."""
    with unit_of_work() as s:
        if not staff_sessions.verify(s, row, factor):
            abort(409)
        signed_in(s, user, factor)
    token = session.pop(PENDING_TOKEN)
    target = session.pop(NEXT, None)
    session[SESSION_TOKEN] = token
    login_user(user)
    return safe_next(target) or url_for("home.index")


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["RA_LOGIN_LIMIT_CLIENT"],
    methods=["POST"],
    deduct_when=_failed,
    error_message="Trop de tentatives de connexion depuis ce poste.",
)
@limiter.limit(
    lambda: current_app.config["RA_LOGIN_LIMIT_ACCOUNT"],
    key_func=_login_email,
    methods=["POST"],
    deduct_when=_failed,
    error_message="Trop de tentatives de connexion pour ce compte.",
)
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        with unit_of_work() as s:
            user, error = authenticate(s, form.email.data or "", form.password.data or "")
            token = (
                staff_sessions.open_session(
                    s,
                    user,
                    client=_client(),
                    user_agent=request.headers.get("User-Agent", ""),
                )
                if user is not None
                else None
            )
        if user is not None and token is not None:
            session.clear()  # nothing from before the sign-in carries over (session fixation)
            session[PENDING_TOKEN] = token
            target = safe_next(request.args.get("next"))
            if target:
                session[NEXT] = target
            return redirect(url_for("auth.second_factor"))
        flash(error or "Identifiants incorrects.", "danger")
    return render_template("auth/login.html", form=form)


@bp.route("/connexion/verification", methods=["GET", "POST"])
def second_factor() -> Any:
    pending = pending_sign_in()
    if pending is None:
        flash("Session de connexion expirée : saisissez à nouveau vos identifiants.", "info")
        return redirect(url_for("auth.login"))
    row, user = pending
    has_keys = keys.has_keys(_db(), user)
    if not user.has_totp and not has_keys:
        return redirect(url_for("auth.enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        code = form.code.data or ""
        with unit_of_work() as s:
            ok = "-" not in code and mfa.verify_code(s, user, code)
            factor = "totp"
            if not ok and any(ch.isalpha() for ch in code):
                ok, factor = mfa.use_recovery_code(s, user, code), "recovery"
            if not ok:
                record(s, "auth.second_factor_failed", actor=user.email, actor_id=user.id)
        if ok:
            target = finish_sign_in(row, user, factor)
            if factor == "recovery":
                left = mfa.remaining_recovery_codes(_db(), user)
                flash(f"Code de secours utilisé : il vous en reste {left}.", "warning")
            return redirect(target)
        flash(SECOND_FACTOR_REFUSED_FR, "danger")
    return render_template(
        "auth/second_factor.html", form=form, user=user, has_totp=user.has_totp, has_keys=has_keys
    )


@bp.route("/connexion/activation", methods=["GET", "POST"])
def enrol() -> Any:
    """First sign-in of an account without a second factor: enrol an authenticator app."""
    pending = pending_sign_in()
    if pending is None:
        return redirect(url_for("auth.login"))
    row, user = pending
    if user.has_totp:
        return redirect(url_for("auth.second_factor"))
    if user.totp_secret is None:
        with unit_of_work() as s:
            mfa.begin_enrolment(s, user)
    form = CodeForm()
    grace_form = GraceForm(prefix="grace")
    grace_until = _grace_until(user)
    if grace_until is not None and grace_form.validate_on_submit():
        return redirect(finish_sign_in(row, user, "grace"))
    if form.validate_on_submit():
        with unit_of_work() as s:
            codes = mfa.confirm_enrolment(s, user, form.code.data or "")
        if codes is not None:
            target = finish_sign_in(row, user, "totp")
            return render_template("auth/recovery_codes.html", codes=codes, target=target)
        flash(SECOND_FACTOR_REFUSED_FR, "danger")
    uri = mfa.provisioning_uri(user)
    return render_template(
        "auth/enrol.html",
        form=form,
        grace_form=grace_form,
        grace_until=local_time(grace_until) if grace_until else None,
        qr=mfa.qr_svg(uri),
        secret=user.totp_secret,
        user=user,
    )


@bp.post("/deconnexion")
@login_required
def logout() -> Any:
    with unit_of_work() as s:
        row = staff_sessions.find(s, session.get(SESSION_TOKEN))
        if row is not None:
            staff_sessions.revoke(s, row, by=current_user.email, reason="logout")
        record(s, "auth.logout", actor=current_user.email, actor_id=current_user.id)
    logout_user()
    session.clear()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/admin/sessions")
@requires("admin:users:manage")
def sessions_page() -> Any:
    rows = staff_sessions.active_sessions(_db())
    current = staff_sessions.find(_db(), session.get(SESSION_TOKEN))
    return render_template(
        "auth/sessions.html",
        rows=rows,
        current_id=current.id if current else None,
        labels=staff_sessions.FACTOR_LABELS_FR,
    )


@bp.post("/admin/sessions/<int:session_id>/revoquer")
@requires("admin:users:manage")
def revoke_session(session_id: int) -> Any:
    with unit_of_work() as s:
        row = s.get(StaffSession, session_id)
        if row is None:
            abort(404)
        owner = s.get(User, row.user_id)
        done = staff_sessions.revoke(s, row, by=current_user.email, reason="admin")
    who = owner.display_name if owner else "?"
    if done:
        flash(f"Session de {who} révoquée : elle prend fin immédiatement.", "success")
    else:
        flash(f"La session de {who} était déjà terminée.", "info")
    return redirect(url_for("auth.sessions_page"))
