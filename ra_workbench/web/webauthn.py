"""Security keys in the browser, and the staff member's own security page.

- /connexion/cle/options and /connexion/cle/verification: the sign-in ceremony (JSON, from
  /connexion/verification and static/webauthn.js) for the sign-in pending after the password
  (web/auth.py's pending_sign_in / finish_sign_in).
- /compte/securite: « Mon compte — sécurité »: TOTP status, recovery codes left and fresh
  ones, the security keys (added, last used), adding one, removing one.

Each ceremony's challenge is kept in the signed session between its options and its answer,
bound to its purpose and account, for a few minutes, and used once (accounts/keys.py says why
the counter makes a replayed answer useless anyway). The relying party is the configured one,
else the request's own host (WebAuthn refuses IP addresses: the demo opens on localhost).
"""

from __future__ import annotations

import time
from typing import Any, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy.orm import Session
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from ra_workbench.accounts import keys, mfa
from ra_workbench.accounts.models import User
from ra_workbench.extensions import db
from ra_workbench.unit import unit_of_work
from ra_workbench.web.auth import finish_sign_in, pending_sign_in
from ra_workbench.web.filters import paris

bp = Blueprint("account", __name__)

CHALLENGE = "webauthn_challenge"
CHALLENGE_SECONDS = 300
SIGN_IN, REGISTER = "sign_in", "register"
EXPIRED_FR = "Session de connexion expirée : saisissez à nouveau vos identifiants."
CEREMONY_EXPIRED_FR = "Délai dépassé : recommencez l'opération avec votre clé."


def _db() -> Session:
    return cast(Session, db.session)


def relying_party() -> keys.RelyingParty:
    settings = current_app.config["RA_SETTINGS"]
    rp_id = settings.webauthn_rp_id or urlsplit("//" + request.host).hostname or ""
    origin = settings.webauthn_origin or request.host_url.rstrip("/")
    return keys.RelyingParty(id=rp_id, origin=origin)


def _keep_challenge(purpose: str, user: User, challenge: bytes) -> None:
    session[CHALLENGE] = {
        "purpose": purpose,
        "user_id": user.id,
        "challenge": bytes_to_base64url(challenge),
        "until": time.time() + CHALLENGE_SECONDS,
    }


def _take_challenge(purpose: str, user: User) -> bytes | None:
    """The challenge of the ceremony `user` began for `purpose`, once; None if there is none
    (or it is stale, or was for something else)."""
    kept = session.pop(CHALLENGE, None)
    if (
        not isinstance(kept, dict)
        or kept.get("purpose") != purpose
        or kept.get("user_id") != user.id
        or float(kept.get("until", 0)) < time.time()
    ):
        return None
    return base64url_to_bytes(str(kept["challenge"]))


def _error(message: str, status: int = 400) -> Any:
    return jsonify({"error": message}), status


def _credential() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
        return None
    return cast(dict[str, Any], body["credential"])


# --- sign-in ---------------------------------------------------------------------------------


@bp.post("/connexion/cle/options")
def sign_in_options() -> Any:
    pending = pending_sign_in()
    if pending is None:
        return _error(EXPIRED_FR, 401)
    _row, user = pending
    try:
        options, challenge = keys.authentication_options(_db(), user, relying_party())
    except keys.KeyRefused as refused:
        return _error(refused.message_fr)
    _keep_challenge(SIGN_IN, user, challenge)
    return current_app.response_class(options, mimetype="application/json")


@bp.post("/connexion/cle/verification")
def sign_in_verify() -> Any:
    pending = pending_sign_in()
    if pending is None:
        return _error(EXPIRED_FR, 401)
    row, user = pending
    challenge = _take_challenge(SIGN_IN, user)
    credential = _credential()
    if challenge is None or credential is None:
        return _error(CEREMONY_EXPIRED_FR)
    refused: keys.KeyRefused | None = None
    # The refusal is caught inside the unit so that its audit entry is committed.
    with unit_of_work() as s:
        try:
            keys.authenticate(s, user, relying_party(), credential=credential, challenge=challenge)
        except keys.KeyRefused as exc:
            refused = exc
    if refused is not None:
        return _error(refused.message_fr, 403)
    return jsonify({"redirect": finish_sign_in(row, user, "webauthn")})


# --- « Mon compte — sécurité » -------------------------------------------------------------


def _me() -> User:
    return cast(User, current_user._get_current_object())  # type: ignore[attr-defined]


@bp.get("/compte/securite")
@login_required
def security() -> Any:
    user = _me()
    rp = relying_party()
    return render_template(
        "account/security.html",
        user=user,
        totp_since=paris(user.totp_confirmed_at, "%d/%m/%Y à %H:%M") if user.has_totp else None,
        recovery_left=mfa.remaining_recovery_codes(_db(), user),
        recovery_total=mfa.RECOVERY_CODES,
        keys=keys.keys_of(_db(), user),
        keys_usable=rp.usable,
        ip_note=keys.IP_ADDRESS_FR,
    )


@bp.post("/compte/securite/cles/options")
@login_required
def register_options() -> Any:
    user = _me()
    try:
        options, challenge = keys.registration_options(_db(), user, relying_party())
    except keys.KeyRefused as refused:
        return _error(refused.message_fr)
    _keep_challenge(REGISTER, user, challenge)
    return current_app.response_class(options, mimetype="application/json")


@bp.post("/compte/securite/cles")
@login_required
def register() -> Any:
    user = _me()
    challenge = _take_challenge(REGISTER, user)
    credential = _credential()
    if challenge is None or credential is None:
        return _error(CEREMONY_EXPIRED_FR)
    body = request.get_json(silent=True) or {}
    label = str(body.get("label") or "")
    refused: keys.KeyRefused | None = None
    added = ""
    with unit_of_work() as s:
        try:
            added = keys.register_key(
                s, user, relying_party(), credential=credential, challenge=challenge, label=label
            ).label
        except keys.KeyRefused as exc:
            refused = exc
    if refused is not None:
        return _error(refused.message_fr)
    flash(f"Clé de sécurité « {added} » ajoutée : elle vous servira à vous connecter.", "success")
    return jsonify({"redirect": url_for("account.security")})


@bp.post("/compte/securite/cles/<int:key_id>/supprimer")
@login_required
def remove(key_id: int) -> Any:
    user = _me()
    try:
        with unit_of_work() as s:
            label = keys.remove_key(s, user, key_id)
    except keys.KeyRefused as refused:
        flash(refused.message_fr, "danger")
    else:
        flash(f"Clé de sécurité « {label} » retirée.", "success")
    return redirect(url_for("account.security"))


@bp.post("/compte/securite/codes-de-secours")
@login_required
def new_recovery_codes() -> Any:
    user = _me()
    try:
        with unit_of_work() as s:
            codes = keys.regenerate_recovery_codes(s, user)
    except keys.KeyRefused as refused:
        flash(refused.message_fr, "danger")
        return redirect(url_for("account.security"))
    return render_template(
        "account/recovery_codes.html", codes=codes, target=url_for("account.security")
    )
