"""The queue's own task (ping) and the French names of every task for the failed list.

Each domain keeps its tasks in its own `tasks.py` ("ra_workbench.<domain>.tasks:<function>"):
they take ids and ISO dates only and run inside one unit of work opened by the runner
(ra_workbench/jobs/runner.py), which commits at its end. Each is idempotent.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, cast

from sqlalchemy.orm import Session

from ra_workbench.audit.service import record
from ra_workbench.extensions import db

log = logging.getLogger(__name__)


def ping(token: str, wait_for: str | None = None, max_wait_seconds: float = 300) -> str:
    """Health check of the whole path (queue → worker → database → audit): appends a
    `jobs.ping` entry. With `wait_for`, the job then holds its transaction open until that
    file exists: how an operator (or the failover test) catches a worker mid-job, with
    uncommitted work in flight."""
    record(cast(Session, db.session), "jobs.ping", actor="worker", payload={"token": token})
    if wait_for:
        marker = Path(wait_for)
        Path(f"{wait_for}.started").touch()
        deadline = time.monotonic() + max_wait_seconds
        while not marker.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"ping {token}: {wait_for} never appeared")
            time.sleep(0.1)
    return token


def describe(task: str, args: tuple[Any, ...]) -> str:
    """French label of a task for the failed-jobs screen."""
    labels = {
        "ra_workbench.ingest.tasks:ingest_inbox": "Ingestion du répertoire d'entrée",
        "ra_workbench.checks.tasks:nightly_recheck": "Contrôle nocturne des dossiers en attente",
        "ra_workbench.checks.tasks:recheck_dossier": "Nouveau contrôle d'un dossier",
        "ra_workbench.review.tasks:send_reminders": "Relances des clients",
        "ra_workbench.issuance.tasks:retention_purge": "Conservation des données (par catégorie)",
        "ra_workbench.documents.tasks:delete_purged_blobs": "Suppression des fichiers purgés",
        "ra_workbench.jobs.tasks:ping": "Test de fonctionnement",
        "ra_workbench.checks.tasks:run_checks": "Contrôles automatiques",
        "ra_workbench.checks.tasks:recover_unchecked": "Reprise des contrôles interrompus",
        "ra_workbench.checks.tasks:recover_dossier": "Reprise des contrôles d'un dossier",
        "ra_workbench.supervision.tasks:sample_quality_reviews": "Échantillon de revue qualité",
        "ra_workbench.audit.tasks:seal_head": "Sceau du journal d'audit",
    }
    return labels.get(task, task)
