"""Ingestion tasks run by the job queue (rq or inline)."""

from __future__ import annotations

import logging

from flask import current_app

from ra_workbench.ingest.inbox import drain_inbox

log = logging.getLogger(__name__)


def ingest_inbox(now: str | None = None) -> int:
    """Ingest the packages dropped in the inbox (each package commits on its own)."""
    outcomes = list(drain_inbox(current_app.config["RA_SETTINGS"].inbox_dir))
    if outcomes:
        log.info("inbox: %d package(s) ingested", len(outcomes))
    return len(outcomes)
