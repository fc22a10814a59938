"""Supervision tasks run by the job queue (rq or inline), inside the runner's unit of work."""

from __future__ import annotations

import datetime as dt
from typing import cast

from flask import current_app
from sqlalchemy.orm import Session

from ra_workbench.clock import PARIS, as_day
from ra_workbench.extensions import db
from ra_workbench.supervision.quality import sample_approvals
from ra_workbench.supervision.rules import current_supervision_rules


def sample_quality_reviews(today: str | None = None) -> int:
    """Draw the day's approvals into the quality review list (idempotent: same draw)."""
    rules = current_supervision_rules()
    day = as_day(today)
    since = dt.datetime.combine(
        day - dt.timedelta(days=rules.lookback_days), dt.time.min, tzinfo=PARIS
    )
    sampled = sample_approvals(
        cast(Session, db.session),
        key=current_app.config["RA_SETTINGS"].secret_key,
        rate=rules.sample_rate,
        since=since,
    )
    return len(sampled)
