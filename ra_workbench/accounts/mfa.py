"""The second factor of staff accounts: TOTP (RFC 6238, pyotp) with single-use recovery codes.

Trusted roles (ETSI EN 319 401, CA/B Forum network security requirements) sign in with a
password *and* something they hold. Enrolment stores a fresh secret, shows it as a QR code,
and puts it in force only once the first code read from the authenticator app is right; the
recovery codes are shown once, kept as sha256. A code is accepted once: the last accepted
time step is moved forward with a compare-and-set, so a code read over a shoulder, or a
double submit, does not open a second session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import pyotp
import segno
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ra_workbench.accounts.models import RecoveryCode, User
from ra_workbench.audit.service import record
from ra_workbench.db import utcnow

ISSUER = "CertEurope AE — RA Workbench"
RECOVERY_CODES = 10
# One 30-second step either side of now: clocks of phones drift.
VALID_WINDOW = 1
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def begin_enrolment(session: Session, user: User) -> str:
    """A new, unconfirmed secret for `user` (replacing an unconfirmed one); the account's
    current factor, if any, stays in force until the new one is confirmed."""
    if user.has_totp:
        raise ValueError("TOTP already enrolled: reset it first")
    user.totp_secret = pyotp.random_base32()
    user.totp_confirmed_at = None
    user.totp_last_step = None
    session.flush()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    if user.totp_secret is None:
        raise ValueError("no TOTP secret")
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code (no image file, no script)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#111"))


def _step_accepted(user: User, code: str, now: dt.datetime) -> int | None:
    """The time step `code` belongs to, within the window, or None."""
    if user.totp_secret is None:
        return None
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(session: Session, user: User, step: int) -> bool:
    """Move the last accepted step forward to `step`, once: False if it was already there."""
    claimed = session.execute(
        sa.update(User)
        .where(User.id == user.id)
        .where(sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(user, ["totp_last_step"])
    return bool(claimed == 1)


def confirm_enrolment(session: Session, user: User, code: str) -> list[str] | None:
    """The first code proves the app holds the secret: TOTP in force, recovery codes issued
    (returned in clear, once). None if the code is wrong."""
    now = utcnow()
    step = _step_accepted(user, code, now)
    if step is None or not _claim_step(session, user, step):
        record(session, "auth.totp_enrolment_failed", actor=user.email, actor_id=user.id)
        return None
    user.totp_confirmed_at = now
    codes = issue_recovery_codes(session, user)
    record(session, "auth.totp_enrolled", actor=user.email, actor_id=user.id)
    return codes


def verify_code(session: Session, user: User, code: str) -> bool:
    """A TOTP code of an enrolled account, accepted once."""
    if not user.has_totp:
        return False
    step = _step_accepted(user, code, utcnow())
    return step is not None and _claim_step(session, user, step)


def _digest(code: str) -> str:
    normalised = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


def issue_recovery_codes(session: Session, user: User) -> list[str]:
    """Ten fresh codes (the previous ones stop working), in clear for this one display."""
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(5)) for _ in range(2))
        for _ in range(RECOVERY_CODES)
    ]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_digest(code)) for code in codes)
    session.flush()
    return codes


def use_recovery_code(session: Session, user: User, code: str) -> bool:
    """A recovery code of `user`, spent (compare-and-set: a code opens one session)."""
    spent = session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id)
        .where(RecoveryCode.code_hash == _digest(code))
        .where(RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if spent:
        left = remaining_recovery_codes(session, user)
        record(
            session,
            "auth.recovery_code_used",
            actor=user.email,
            actor_id=user.id,
            payload={"left": left},
        )
    return bool(spent == 1)


def remaining_recovery_codes(session: Session, user: User) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


def reset_second_factor(session: Session, user: User, *, actor: str) -> None:
    """An admin's reset (lost phone and codes): the account must enrol again at next sign-in."""
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record(session, "admin.second_factor_reset", actor=actor, payload={"user_id": user.id})
    session.flush()
