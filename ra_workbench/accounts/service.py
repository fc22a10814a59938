"""Staff accounts: creation, password hashing (Argon2id), throttled authentication."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import Role, User
from ra_workbench.audit.service import record
from ra_workbench.db import utcnow

_hasher = PasswordHasher()

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10


class AccountError(Exception):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    actor: str = "system",
) -> User:
    email = email.strip().lower()
    if role not in Role.ALL:
        raise AccountError(f"rôle inconnu : {role} (attendu : {', '.join(Role.ALL)})")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"mot de passe trop court (au moins {MIN_PASSWORD_LENGTH} caractères)")
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"un compte existe déjà pour {email}")
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        first_name=first_name,
        last_name=last_name,
    )
    session.add(user)
    session.flush()
    record(
        session,
        "admin.user_created",
        actor=actor,
        payload={"user_id": user.id, "email": email, "role": role},
    )
    return user


# One answer for every refusal, so that the page does not tell which accounts exist or are
# locked; and the same work (one Argon2 verification) whatever the reason, so that its timing
# does not tell either.
LOGIN_REFUSED_FR = (
    "Identifiants incorrects, ou compte temporairement verrouillé après plusieurs échecs."
)
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, email: str, password: str) -> tuple[User | None, str | None]:
    """(user, None) when the password is right; (None, LOGIN_REFUSED_FR) otherwise, the same
    message and the same Argon2 work for an unknown, disabled or locked account. Failures
    count towards a lockout (MAX_FAILED_LOGINS, then LOCKOUT)."""
    now = utcnow()
    user = session.scalars(sa.select(User).where(User.email == email.strip().lower())).first()
    known = user is not None and user.active
    matches = _password_matches(user.password_hash if known and user else _DUMMY_HASH, password)
    if user is None or not known:
        record(session, "auth.login_failed", actor=email[:320], payload={"reason": "unknown"})
        return None, LOGIN_REFUSED_FR
    if user.locked_until is not None and user.locked_until > now:
        record(
            session,
            "auth.login_failed",
            actor=user.email,
            actor_id=user.id,
            payload={"reason": "locked"},
        )
        return None, LOGIN_REFUSED_FR
    if not matches:
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        record(
            session,
            "auth.login_failed",
            actor=user.email,
            actor_id=user.id,
            payload={"reason": "password"},
        )
        return None, LOGIN_REFUSED_FR
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    record(session, "auth.password_ok", actor=user.email, actor_id=user.id)
    return user, None


def signed_in(session: Session, user: User, factor: str) -> None:
    """The whole sign-in succeeded (password and second factor): noted on the account."""
    user.last_login_at = utcnow()
    record(session, "auth.login", actor=user.email, actor_id=user.id, payload={"factor": factor})
