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
        }
    ),
}
PERMISSIONS["supervisor"] = PERMISSIONS["operator"] | {
    "review:claim:release",
    "review:override:second",
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

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


class Offer(Base):
    """Certificate offers sold on the portal (reference data)."""

    __tablename__ = "offers"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    label: Mapped[str] = mapped_column(sa.String(300))
    price_ttc: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(10, 2))
    active: Mapped[bool] = mapped_column(default=True)
