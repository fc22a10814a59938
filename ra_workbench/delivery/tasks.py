"""Jobs of the delivery domain (run by the scheduler; one unit of work each)."""

from __future__ import annotations

from typing import cast

from sqlalchemy.orm import Session

from ra_workbench.delivery.service import remind_appointments
from ra_workbench.extensions import db


def send_appointment_reminders() -> int:
    """Hourly: remind holders of appointments within 24 hours (idempotent: dedup keys)."""
    return remind_appointments(cast(Session, db.session))
