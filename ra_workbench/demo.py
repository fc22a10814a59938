"""`ra-workbench demo-setup`: demo accounts and ~30 realistic dossiers, ingested the normal way."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import random
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import click
import pyotp
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from ra_workbench.accounts.models import Offer, User
from ra_workbench.accounts.service import create_user
from ra_workbench.clock import PARIS
from ra_workbench.db import utcnow
from ra_workbench.delivery.slots import SlotSeries, open_series
from ra_workbench.dossiers.models import Dossier
from ra_workbench.extensions import db
from ra_workbench.ingest.package import read_package_path
from ra_workbench.ingest.service import ingest, ingest_signature, package_limits
from ra_workbench.issuance.token import TokenConfig, describe_station
from ra_workbench.synth.offers import OFFERS, PICKUP_SURCHARGE
from ra_workbench.unit import unit_of_work

DEMO_PASSWORD = "demo-ra-2026!"  # noqa: S105 - printed demo login, documented in the README
DEMO_USERS = (
    ("operateur@demo.certeurope.fr", "operator", "Olivia", "Perrin"),
    ("operateur2@demo.certeurope.fr", "operator", "Nicolas", "Lambert"),
    ("superviseur@demo.certeurope.fr", "supervisor", "Sophie", "Garnier"),
    ("admin@demo.certeurope.fr", "admin", "Antoine", "Roux"),
)


def ensure_demo_users() -> list[tuple[str, str, str]]:
    """The demo's staff accounts, each with a TOTP second factor already enrolled (printed,
    with a command that shows its current code: the demo must be usable without a phone)."""
    accounts = []
    with unit_of_work() as session:
        for email, role, first, last in DEMO_USERS:
            user = session.scalars(sa.select(User).where(User.email == email)).first()
            if user is None:
                user = create_user(
                    session,
                    email=email,
                    password=DEMO_PASSWORD,
                    role=role,
                    first_name=first,
                    last_name=last,
                    actor="demo",
                )
            if not user.has_totp:
                user.totp_secret = pyotp.random_base32()
                user.totp_confirmed_at = utcnow()
            accounts.append((email, role, user.totp_secret or ""))
    return accounts


def ensure_offers() -> int:
    """The offers table with the offers the synthetic packages order and the pickup
    surcharge (payment.amount compares with them). Idempotent: creates only the missing rows,
    never changes a price an admin set. Returns how many rows it created."""
    created = 0
    with unit_of_work() as session:
        for code, label, price in (*OFFERS, PICKUP_SURCHARGE):
            if session.scalar(sa.select(Offer.id).where(Offer.code == code)) is None:
                session.add(Offer(code=code, label=label, price_ttc=price, active=True))
                created += 1
    return created


DEMO_PICKUP_LOCATION = "CertEurope, 26 rue du Faubourg Poissonnière, 75010 Paris"
DEMO_SLOT_DAYS = 31


def ensure_pickup_slots(now: dt.datetime | None = None) -> int:
    """A month of pickup slots from today (weekdays, 9:00-17:00 Paris, 30 minutes, two
    holders each), so that a pickup dossier can be booked and handed over with no admin
    step. The hand-over happens on the appointment's day, so today also gets slots until
    midnight from the next half hour, whatever the day and hour the demo is started.
    Idempotent. Returns how many slots it created."""
    now = now or dt.datetime.now(dt.UTC)
    local = now.astimezone(PARIS)
    today = local.date()
    month = SlotSeries(
        first_day=today,
        last_day=today + dt.timedelta(days=DEMO_SLOT_DAYS - 1),
        opens=dt.time(9),
        closes=dt.time(17),
        minutes=30,
        capacity=2,
        location=DEMO_PICKUP_LOCATION,
    )
    series = [month]
    next_half_hour = local.replace(minute=0, second=0, microsecond=0) + dt.timedelta(
        minutes=30 if local.minute < 30 else 60
    )
    opens = max(next_half_hour.time(), month.opens)
    if next_half_hour.date() == today and opens < dt.time(23, 29):
        series.append(
            replace(
                month,
                last_day=today,
                opens=opens,
                closes=dt.time(23, 59),
                weekdays=frozenset(range(7)),
            )
        )
    with unit_of_work() as session:
        return sum(open_series(session, s, not_before=now) for s in series)


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


def _ingest_demo_package(path: Path, rng: random.Random) -> None:
    """One generated package through the normal ingestion; most get their signatures too."""
    outcome = ingest(
        lambda: read_package_path(path, package_limits()),
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


@click.command("demo-setup")
@click.option("--count", default=30, show_default=True)
@click.option("--seed", default=2026, show_default=True)
@with_appcontext
def demo_command(count: int, seed: int) -> None:
    """Comptes de démonstration et dossiers d'exemple (idempotent)."""
    from ra_workbench.synth.packages import build_dossier, plan_batch  # noqa: PLC0415 - OpenCV

    users = ensure_demo_users()
    ensure_offers()
    ensure_pickup_slots()
    # The holders' keys are born on the token (issue 16): SoftHSM2 under the data directory.
    station = describe_station(TokenConfig.from_env(current_app.config["RA_SETTINGS"].data_dir))
    existing = db.session.scalar(sa.select(sa.func.count(Dossier.id))) or 0
    if existing == 0:
        out = Path(current_app.config["RA_SETTINGS"].data_dir) / "demo-packages"
        today = dt.datetime.now(dt.UTC).date()
        specs = plan_batch(out, count=count, seed=seed, today=today, defect_rate=0.4)
        click.echo(f"génération et contrôle de {count} dossiers de démonstration…")
        # The images are drawn in a separate process while this one ingests and checks the
        # packages already drawn: the two halves take about as long, so together they take
        # about half the time. Spawned, not forked: OpenCV's threads do not survive a fork.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            packages: Iterator[Path] = pool.map(build_dossier, specs)
            with click.progressbar(packages, length=len(specs), label="dossiers") as bar:
                for path in bar:
                    _ingest_demo_package(path, random.Random(f"{seed}-{path.name}"))
    click.echo("")
    click.echo(f"Clés des porteurs générées sur le jeton : {station}")
    click.echo(f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD})")
    click.echo("Second facteur : clé TOTP à saisir dans une application d'authentification,")
    click.echo(
        "ou code du moment : .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('CLÉ').now())\""
    )
    for email, role, secret in users:
        click.echo(f"  {role:<11} {email:<34} clé TOTP {secret}")
