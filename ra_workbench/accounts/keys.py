"""Security keys (WebAuthn, py_webauthn) as a second factor for staff.

A key is registered by a signed-in staff member (« Mon compte — sécurité ») and then stands
in for the TOTP code at sign-in. The ceremonies' challenges are random bytes the caller keeps
server side between the options and the answer (the view keeps them in the signed session,
bound to their purpose and user, single use). The relying party (ID and origin) comes from
the caller too: configuration, else the request's own host.

The signature counter is checked here rather than by py_webauthn: a counter that does not
move forward means a copy of the key signed in between (a cloned key), and that refusal is
written to the audit trail as such. The new counter is stored with a compare-and-set, so two
answers carrying the same counter (a replay racing the original) cannot both succeed.

Services flush and write the audit entry; the caller commits.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ra_workbench.accounts import mfa
from ra_workbench.accounts.models import SecurityKey, User
from ra_workbench.audit.service import record
from ra_workbench.db import utcnow

RP_NAME = "CertEurope AE — RA Workbench"
LABEL_MAX = 100
TIMEOUT_MS = 120_000

KEY_REFUSED_FR = "Clé de sécurité refusée : réessayez, ou utilisez un autre facteur."
CLONED_KEY_FR = (
    "Clé de sécurité refusée : son compteur de signatures a reculé, ce qui signale une copie "
    "de la clé. L'incident est journalisé ; prévenez un administrateur."
)
UNKNOWN_KEY_FR = "Cette clé de sécurité n'est pas enregistrée pour votre compte."
ALREADY_REGISTERED_FR = "Cette clé de sécurité est déjà enregistrée."
LAST_FACTOR_FR = (
    "Impossible de retirer votre dernier second facteur : ajoutez d'abord une autre clé "
    "ou activez un code TOTP."
)
IP_ADDRESS_FR = (
    "Les clés de sécurité ne fonctionnent pas sur une adresse IP : ouvrez l'application par "
    "son nom d'hôte (démo : http://localhost:5000). Le code TOTP fonctionne partout."
)


class KeyRefused(Exception):
    """A ceremony's answer that does not sign in or register; `message_fr` is for the user."""

    def __init__(self, message_fr: str, reason: str) -> None:
        super().__init__(reason)
        self.message_fr = message_fr
        self.reason = reason


@dataclass(frozen=True)
class RelyingParty:
    """Who the keys sign for: `id` is a host name (browsers refuse an IP address, and the
    key is bound to it), `origin` the scheme, host and port the browser reports."""

    id: str
    origin: str
    name: str = RP_NAME

    @property
    def usable(self) -> bool:
        try:
            ipaddress.ip_address(self.id.strip("[]"))
        except ValueError:
            return bool(self.id)
        return False


def _user_handle(user: User) -> bytes:
    # Stable per account and not personal data (the spec forbids e-mail addresses here).
    return hashlib.sha256(f"ra-workbench-user:{user.id}".encode()).digest()


def keys_of(session: Session, user: User) -> list[SecurityKey]:
    return list(
        session.scalars(
            sa.select(SecurityKey)
            .where(SecurityKey.user_id == user.id)
            .order_by(SecurityKey.created_at, SecurityKey.id)
        )
    )


def has_keys(session: Session, user: User) -> bool:
    found = session.scalar(sa.select(SecurityKey.id).where(SecurityKey.user_id == user.id).limit(1))
    return found is not None


def _transports(key: SecurityKey) -> list[AuthenticatorTransport]:
    out = []
    for name in key.transports.split(","):
        try:
            out.append(AuthenticatorTransport(name))
        except ValueError:
            continue
    return out


def _descriptors(keys: list[SecurityKey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=key.credential_id, transports=_transports(key) or None)
        for key in keys
    ]


def _require_usable(rp: RelyingParty) -> None:
    if not rp.usable:
        raise KeyRefused(IP_ADDRESS_FR, "ip_address_rp_id")


# --- registration --------------------------------------------------------------------------


def registration_options(session: Session, user: User, rp: RelyingParty) -> tuple[str, bytes]:
    """Options for navigator.credentials.create(), as JSON, and their challenge (to keep).
    Keys already registered are excluded: the browser says so instead of registering twice."""
    _require_usable(rp)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=_user_handle(user),
        user_name=user.email,
        user_display_name=user.display_name,
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(keys_of(session, user)),
    )
    return options_to_json(options), options.challenge


def register_key(
    session: Session,
    user: User,
    rp: RelyingParty,
    *,
    credential: str | dict[str, Any],
    challenge: bytes,
    label: str,
) -> SecurityKey:
    """The answer of navigator.credentials.create() to `registration_options`: the key is
    added to the account. Raises KeyRefused (audited) if the answer does not verify."""
    _require_usable(rp)
    label = " ".join(label.split())[:LABEL_MAX] or "Clé de sécurité"
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=False,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        record(
            session,
            "auth.security_key_refused",
            actor=user.email,
            actor_id=user.id,
            payload={"ceremony": "registration", "reason": str(exc)[:200]},
        )
        raise KeyRefused(KEY_REFUSED_FR, "invalid_registration") from exc
    taken = session.scalar(
        sa.select(SecurityKey.id).where(SecurityKey.credential_id == verified.credential_id)
    )
    if taken is not None:
        raise KeyRefused(ALREADY_REGISTERED_FR, "already_registered")
    transports = _answer_transports(credential)
    key = SecurityKey(
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        label=label,
        transports=",".join(transports)[:200],
    )
    session.add(key)
    session.flush()
    record(
        session,
        "auth.security_key_added",
        actor=user.email,
        actor_id=user.id,
        payload={"key_id": key.id, "label": label, "user_verified": verified.user_verified},
    )
    return key


def _answer_transports(credential: str | dict[str, Any]) -> list[str]:
    """The transports the browser reported (usb, nfc…), kept to hint it at sign-in."""
    data = json.loads(credential) if isinstance(credential, str) else credential
    response = data.get("response") if isinstance(data, dict) else None
    raw = response.get("transports") if isinstance(response, dict) else None
    if not isinstance(raw, list):
        return []
    known = {t.value for t in AuthenticatorTransport}
    return [t for t in raw if isinstance(t, str) and t in known]


# --- sign-in --------------------------------------------------------------------------------


def authentication_options(session: Session, user: User, rp: RelyingParty) -> tuple[str, bytes]:
    """Options for navigator.credentials.get() naming the account's keys, as JSON, and their
    challenge (to keep). User verification (PIN, fingerprint) preferred, not required."""
    _require_usable(rp)
    keys = keys_of(session, user)
    if not keys:
        raise KeyRefused(UNKNOWN_KEY_FR, "no_keys")
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(keys),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), options.challenge


def _refused(session: Session, user: User, reason: str, **payload: Any) -> None:
    record(
        session,
        "auth.second_factor_failed",
        actor=user.email,
        actor_id=user.id,
        payload={"factor": "webauthn", "reason": reason, **payload},
    )


def authenticate(
    session: Session,
    user: User,
    rp: RelyingParty,
    *,
    credential: str | dict[str, Any],
    challenge: bytes,
) -> SecurityKey:
    """The answer of navigator.credentials.get() to `authentication_options`: the key that
    signed, its counter moved forward. Raises KeyRefused (audited) otherwise; a counter that
    did not move forward is audited as `auth.security_key_cloned`."""
    _require_usable(rp)
    try:
        parsed = parse_authentication_credential_json(credential)
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        _refused(session, user, "malformed")
        raise KeyRefused(KEY_REFUSED_FR, "malformed") from exc
    key = session.scalar(
        sa.select(SecurityKey).where(
            SecurityKey.user_id == user.id, SecurityKey.credential_id == parsed.raw_id
        )
    )
    if key is None:
        _refused(session, user, "unknown_key")
        raise KeyRefused(UNKNOWN_KEY_FR, "unknown_key")
    stored = key.sign_count
    try:
        # Counter 0 given on purpose: py_webauthn then checks everything but the counter,
        # which is ours to check below (to tell a clone from any other refusal).
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=key.public_key,
            credential_current_sign_count=0,
            require_user_verification=False,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        _refused(session, user, "invalid_assertion", key_id=key.id, detail=str(exc)[:200])
        raise KeyRefused(KEY_REFUSED_FR, "invalid_assertion") from exc
    presented = verified.new_sign_count
    # Authenticators without a counter always send 0 (allowed); otherwise it must grow.
    if (presented > 0 or stored > 0) and presented <= stored:
        _cloned(session, user, key, stored=stored, presented=presented)
    moved = session.execute(
        sa.update(SecurityKey)
        .where(SecurityKey.id == key.id, SecurityKey.sign_count == stored)
        .values(sign_count=presented, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(key)
    if moved != 1:
        # Another answer with this key was accepted meanwhile: this one may be its replay.
        _cloned(session, user, key, stored=key.sign_count, presented=presented)
    record(
        session,
        "auth.security_key_used",
        actor=user.email,
        actor_id=user.id,
        payload={"key_id": key.id, "sign_count": presented},
    )
    return key


def _cloned(session: Session, user: User, key: SecurityKey, *, stored: int, presented: int) -> None:
    record(
        session,
        "auth.security_key_cloned",
        actor=user.email,
        actor_id=user.id,
        payload={"key_id": key.id, "label": key.label, "stored": stored, "presented": presented},
    )
    raise KeyRefused(CLONED_KEY_FR, "counter_not_increased")


# --- the account's factors -----------------------------------------------------------------


def remove_key(session: Session, user: User, key_id: int) -> str:
    """Remove one of `user`'s keys, returning its label; refused (KeyRefused) if it is the
    account's last second factor (no TOTP, no other key): sign-in would have nothing to ask."""
    key = session.scalar(
        sa.select(SecurityKey).where(SecurityKey.id == key_id, SecurityKey.user_id == user.id)
    )
    if key is None:
        raise KeyRefused(UNKNOWN_KEY_FR, "unknown_key")
    others = session.scalar(
        sa.select(sa.func.count(SecurityKey.id)).where(
            SecurityKey.user_id == user.id, SecurityKey.id != key.id
        )
    )
    if not user.has_totp and not others:
        raise KeyRefused(LAST_FACTOR_FR, "last_factor")
    label = key.label
    session.delete(key)
    session.flush()
    record(
        session,
        "auth.security_key_removed",
        actor=user.email,
        actor_id=user.id,
        payload={"key_id": key_id, "label": label},
    )
    return label


def remove_all_keys(session: Session, user: User, *, actor: str) -> int:
    """An admin's reset of the second factor (lost keys): every key of `user` goes, audited;
    how many."""
    removed = session.execute(
        sa.delete(SecurityKey)
        .where(SecurityKey.user_id == user.id)
        .execution_options(synchronize_session="fetch")
    ).rowcount  # type: ignore[attr-defined]
    if removed:
        record(
            session,
            "admin.security_keys_removed",
            actor=actor,
            payload={"user_id": user.id, "count": removed},
        )
    session.flush()
    return int(removed)


def regenerate_recovery_codes(session: Session, user: User) -> list[str]:
    """Fresh recovery codes for an account holding a second factor (the previous ones stop
    working), in clear for one display."""
    if not user.has_totp and not has_keys(session, user):
        raise KeyRefused(
            "Activez d'abord un second facteur (code TOTP ou clé de sécurité).", "no_factor"
        )
    codes = mfa.issue_recovery_codes(session, user)
    record(session, "auth.recovery_codes_regenerated", actor=user.email, actor_id=user.id)
    return codes
