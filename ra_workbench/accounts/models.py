"""Staff accounts and reference data managed by admins."""

from __future__ import annotations

import datetime as dt
import decimal

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from ra_workbench.db import Base, CreatedAt, intpk


class Role:
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    ALL = ("operator", "supervisor", "admin")


ROLE_LABELS_FR = {"operator": "Opérateur", "supervisor": "Superviseur", "admin": "Administrateur"}

# Permissions as "scope:resource:action"; a role holds a set of them.
PERMISSIONS: dict[str, frozenset[str]] = {
    "operator": frozenset(
        {
            "review:dossier:read",
            "review:dossier:claim",
            "review:dossier:decide",
            "documents:identity:view",
            "delivery:dossier:manage",
            "notify:outbox:read",
            "notify:outbox:retry",
            "issuance:certificate:read",
            "issuance:request:retry",
            "revocation:request:read",
            "revocation:request:open",
            "revocation:request:decide",
        }
    ),
}
PERMISSIONS["supervisor"] = PERMISSIONS["operator"] | {
    "review:claim:release",
    "review:override:second",
    # Need to know for every dossier's identity copies (others: the claimant, or a stated
    # reason — documents/access.py).
    "documents:identity:view_any",
    # Hand the token over outside the appointment's day, with a recorded reason.
    "delivery:handover:exception",
    "audit:trail:read",
    "supervision:dashboard:read",
    "jobs:failed:retry",
}
PERMISSIONS["admin"] = PERMISSIONS["supervisor"] | {
    "admin:users:manage",
    "admin:reference:manage",
}


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    first_name: Mapped[str] = mapped_column(sa.String(200), default="")
    last_name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    role: Mapped[str] = mapped_column(sa.String(16), default=Role.OPERATOR)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    created_at: Mapped[CreatedAt]
    # Second factor (accounts/mfa.py): a TOTP secret, set at enrolment and in force once
    # confirmed with a first code; the last time step accepted, so that a code is used once.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_confirmed_at: Mapped[dt.datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    @property
    def has_totp(self) -> bool:
        return self.totp_secret is not None and self.totp_confirmed_at is not None


class StaffSession(Base):
    """One sign-in of a staff member, server side: the cookie carries only a random token whose
    sha256 is kept here. It counts once its second factor is given (`verified_at`) and stops
    counting at logout, when an admin revokes it, or past its lifetime (accounts/sessions.py)."""

    __tablename__ = "staff_sessions"

    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[CreatedAt]
    verified_at: Mapped[dt.datetime | None]
    # "totp", "recovery", "webauthn", or "grace" (no second factor yet, within the grace period)
    second_factor: Mapped[str | None] = mapped_column(sa.String(16))
    last_seen_at: Mapped[dt.datetime | None]
    client: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")
    revoked_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(320))


class RecoveryCode(Base):
    """Single-use codes handed out at TOTP enrolment, for a lost phone; only their sha256."""

    __tablename__ = "recovery_codes"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[CreatedAt]
    used_at: Mapped[dt.datetime | None]


class SecurityKey(Base):
    """A WebAuthn credential (security key) registered by a staff member."""

    __tablename__ = "security_keys"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[bytes] = mapped_column(sa.LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary(2048))
    sign_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    label: Mapped[str] = mapped_column(sa.String(100), default="")
    transports: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[CreatedAt]
    last_used_at: Mapped[dt.datetime | None]


class Offer(Base):
    """Certificate offers sold on the portal (reference data)."""

    __tablename__ = "offers"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    label: Mapped[str] = mapped_column(sa.String(300))
    price_ttc: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(10, 2))
    active: Mapped[bool] = mapped_column(default=True)
