"""Staff accounts: creation, password hashing (Argon2id), throttled authentication."""

from __future__ import annotations

import datetime as dt

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


def authenticate(session: Session, email: str, password: str) -> tuple[User | None, str | None]:
    """(user, None) on success; (None, French reason) otherwise. Failures are throttled."""
    now = utcnow()
    user = session.scalars(sa.select(User).where(User.email == email.strip().lower())).first()
    if user is None or not user.active:
        record(session, "auth.login_failed", actor=email[:320], payload={"reason": "unknown"})
        return None, "Identifiants incorrects."
    if user.locked_until is not None and user.locked_until > now:
        record(
            session,
            "auth.login_failed",
            actor=user.email,
            actor_id=user.id,
            payload={"reason": "locked"},
        )
        return None, "Trop de tentatives : compte temporairement verrouillé, réessayez plus tard."
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
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
        return None, "Identifiants incorrects."
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record(session, "auth.login", actor=user.email, actor_id=user.id)
    return user, None
