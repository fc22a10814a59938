"""Sign-in and sign-out for staff."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
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
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, Regexp

from ra_workbench.accounts.models import User
from ra_workbench.accounts.service import authenticate
from ra_workbench.audit.service import record
from ra_workbench.extensions import db, login_manager
from ra_workbench.unit import unit_of_work

bp = Blueprint("auth", __name__)


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


def init_login(app: Flask) -> None:
    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id))

    @app.before_request
    def _session_timeout() -> None:
        # PERMANENT_SESSION_LIFETIME = the configured idle timeout. Set once: setting it on
        # every request would mark the session modified and rewrite the cookie each time.
        if not session.permanent:
            session.permanent = True

    app.session_interface = _PageSessionInterface()


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


def _is_safe_next(target: str) -> bool:
    return target.startswith("/") and not target.startswith("//")


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        with unit_of_work() as s:
            user, error = authenticate(s, form.email.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            target = request.args.get("next") or ""
            return redirect(target if _is_safe_next(target) else url_for("home.index"))
        flash(error or "Identifiants incorrects.", "danger")
    return render_template("auth/login.html", form=form)


@bp.post("/deconnexion")
@login_required
def logout() -> Any:
    with unit_of_work() as s:
        record(s, "auth.logout", actor=current_user.email, actor_id=current_user.id)
    logout_user()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))
