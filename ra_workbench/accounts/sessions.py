"""Staff sessions kept server side, so that they can end: at logout, by an admin, on expiry.

The browser's (signed) cookie carries a random token; the database keeps its sha256 in
`staff_sessions`. Every request looks the token up (accounts/models.StaffSession): a cookie
copied before logout, or one an admin has revoked, no longer signs anybody in. A session
opened by the password counts only once its second factor is given (`verified_at`), and the
password step must be completed within PENDING_LIFETIME.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import StaffSession, User
from ra_workbench.audit.service import record
from ra_workbench.db import utcnow

PENDING_LIFETIME = dt.timedelta(minutes=10)
# However active, a session ends after a working day; idleness ends it sooner (the signed
# cookie's own age, PERMANENT_SESSION_LIFETIME, is checked by Flask on every request).
ABSOLUTE_LIFETIME = dt.timedelta(hours=12)
SEEN_EVERY = dt.timedelta(minutes=5)

FACTOR_LABELS_FR = {
    "totp": "code TOTP",
    "recovery": "code de secours",
    "webauthn": "clé de sécurité",
    "grace": "sans second facteur (période de grâce)",
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, user: User, *, client: str, user_agent: str) -> str:
    """A new, not yet verified session for `user`; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=_hash(token),
            user_id=user.id,
            client=client[:64],
            user_agent=user_agent[:300],
        )
    )
    session.flush()
    return token


def find(session: Session, token: str | None, *, verified: bool = True) -> StaffSession | None:
    """The live session behind `token`: not revoked, within its lifetime, and (by default)
    verified by its second factor."""
    if not token:
        return None
    row = session.scalar(sa.select(StaffSession).where(StaffSession.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if now - row.created_at > ABSOLUTE_LIFETIME:
        return None
    if verified and row.verified_at is None:
        return None
    if not verified and row.verified_at is None and now - row.created_at > PENDING_LIFETIME:
        return None
    return row


def verify(session: Session, row: StaffSession, factor: str) -> bool:
    """The second factor was given: the session counts from now (compare-and-set, once)."""
    now = utcnow()
    done = session.execute(
        sa.update(StaffSession)
        .where(StaffSession.id == row.id, StaffSession.verified_at.is_(None))
        .where(StaffSession.revoked_at.is_(None))
        .values(verified_at=now, last_seen_at=now, second_factor=factor)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(row)
    return bool(done == 1)


def seen(session: Session, row: StaffSession) -> bool:
    """Note activity, at most every SEEN_EVERY (a page view need not write each time).
    True when something was written."""
    now = utcnow()
    if row.last_seen_at is not None and now - row.last_seen_at < SEEN_EVERY:
        return False
    row.last_seen_at = now
    session.flush()
    return True


def revoke(session: Session, row: StaffSession, *, by: str, reason: str) -> bool:
    """End one session now. False if it had already ended."""
    done = session.execute(
        sa.update(StaffSession)
        .where(StaffSession.id == row.id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_by=by)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if done:
        record(
            session,
            "auth.session_revoked",
            actor=by,
            payload={"session_id": row.id, "user_id": row.user_id, "reason": reason},
        )
    return bool(done == 1)


def revoke_all(session: Session, user: User, *, by: str, reason: str) -> int:
    """End every session of `user` (account disabled, second factor reset)."""
    rows = session.scalars(
        sa.select(StaffSession).where(
            StaffSession.user_id == user.id, StaffSession.revoked_at.is_(None)
        )
    ).all()
    return sum(revoke(session, row, by=by, reason=reason) for row in rows)


def active_sessions(session: Session) -> list[tuple[StaffSession, User]]:
    """Verified sessions still within their lifetime, newest first, with their user."""
    since = utcnow() - ABSOLUTE_LIFETIME
    rows = session.execute(
        sa.select(StaffSession, User)
        .join(User, User.id == StaffSession.user_id)
        .where(StaffSession.revoked_at.is_(None), StaffSession.verified_at.is_not(None))
        .where(StaffSession.created_at > since)
        .order_by(StaffSession.created_at.desc())
    ).all()
    return [(row, user) for row, user in rows]
