"""`ra-workbench demo-setup`: demo accounts and ~30 realistic dossiers, ingested the normal way."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from ra_workbench.accounts.models import User
from ra_workbench.accounts.service import create_user
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.ingest.package import read_package_path
from ra_workbench.ingest.service import ingest, ingest_signature, package_limits
from ra_workbench.unit import unit_of_work

DEMO_PASSWORD = "demo-ra-2026!"  # noqa: S105 - printed demo login, documented in the README
DEMO_USERS = (
    ("operateur@demo.certeurope.fr", "operator", "Olivia", "Perrin"),
    ("operateur2@demo.certeurope.fr", "operator", "Nicolas", "Lambert"),
    ("superviseur@demo.certeurope.fr", "supervisor", "Sophie", "Garnier"),
    ("admin@demo.certeurope.fr", "admin", "Antoine", "Roux"),
)


def ensure_demo_users() -> list[tuple[str, str]]:
    created = []
    with unit_of_work() as session:
        for email, role, first, last in DEMO_USERS:
            if session.scalar(sa.select(User.id).where(User.email == email)) is None:
                create_user(
                    session,
                    email=email,
                    password=DEMO_PASSWORD,
                    role=role,
                    first_name=first,
                    last_name=last,
                    actor="demo",
                )
            created.append((email, role))
    return created


def demo_signature_events(order_number: str, signers: list[str], rng: random.Random) -> list[bytes]:
    events = []
    for signer in signers:
        events.append(
            json.dumps(
                {
                    "format": "portail-signature/1",
                    "order_number": order_number,
                    "signer": signer,
                    "status": "signed",
                    "identity_verification": "self_id_passed",
                    "evidence_id": f"GS-{rng.randrange(16**6):06x}",
                    "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                }
            ).encode()
        )
    return events


@click.command("demo-setup")
@click.option("--count", default=30, show_default=True)
@click.option("--seed", default=2026, show_default=True)
@with_appcontext
def demo_command(count: int, seed: int) -> None:
    """Comptes de démonstration et dossiers d'exemple (idempotent)."""
    from ra_workbench.synth.packages import generate_batch  # noqa: PLC0415 - synth loads OpenCV

    users = ensure_demo_users()
    existing = db.session.scalar(sa.select(sa.func.count(Dossier.id))) or 0
    if existing == 0:
        out = Path(current_app.config["RA_SETTINGS"].data_dir) / "demo-packages"
        today = dt.datetime.now(dt.UTC).date()
        click.echo(f"génération de {count} dossiers de démonstration…")
        packages = generate_batch(out, count=count, seed=seed, today=today, defect_rate=0.4)
        limits = package_limits()
        rng = random.Random(seed)
        with click.progressbar(packages, label="ingestion") as bar:
            for path in bar:
                outcome = ingest(
                    lambda p=path: read_package_path(p, limits),  # type: ignore[misc]
                    name=path.name,
                    source="demo",
                    actor="demo",
                )
                if outcome.order_number and outcome.outcome == "created" and rng.random() < 0.7:
                    manifest = json.loads((path / "dossier.json").read_text())
                    signers = ["holder", "legal_representative"]
                    if manifest.get("mandataire"):
                        signers.append("mandataire")
                    for event in demo_signature_events(outcome.order_number, signers, rng):
                        ingest_signature(event, source="demo", actor="demo")
    click.echo("")
    click.echo(f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD})")
    for email, role in users:
        click.echo(f"  {role:<11} {email}")
