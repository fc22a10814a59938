"""A production run (issue 18, point 1): the processes the README describes, for real.

gunicorn with three workers serving create_app() — the command line `make serve` runs, read
from the Makefile — two `ra-workbench worker` processes and one `ra-workbench scheduler`, on a
PostgreSQL database of this module's own (on the server scripts/services.sh starts, on the
SQLite pass too) and a Redis database of its own, with a temporary data directory. One
dossier goes through the journey over HTTP: the portal API uploads it, a worker runs its
checks, an operator signs in (password and TOTP) and approves it in Chromium, a worker issues
the certificate onto a SoftHSM2 token, the shipment is marked shipped then delivered on the
staff pages, the activation code reaches the outbox and the status API says « 1 / 1 ». Then a
batch re-check is enqueued, one worker and its work horse are killed with SIGKILL while the
horse is in the middle of a dossier, and every dossier is still re-checked exactly once.

Every process runs in a session of its own and is killed in teardown, with whatever it
forked (rq's work horses change process group, not session); its stderr is kept in a file
and printed when a test failed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from redis import Redis

from ra_workbench.app import create_app
from ra_workbench.audit.service import verify
from ra_workbench.certificates.activation import activation_code_for
from ra_workbench.certificates.models import Certificate
from ra_workbench.checks.models import CheckRun
from ra_workbench.clock import today_in_paris
from ra_workbench.config import Settings
from ra_workbench.delivery.models import Shipment
from ra_workbench.dossiers.models import Dossier
from ra_workbench.dossiers.states import DossierStatus
from ra_workbench.extensions import db
from ra_workbench.issuance.token import TokenConfig, certificates_on_token
from ra_workbench.jobs.queue import QUEUE_NAME
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.notify.service import ACTIVATION_PLACEHOLDER
from ra_workbench.synth.packages import generate_dossier
from tests.browser.conftest import SCREEN, SCREENSHOTS
from tests.browser.test_review_screens import sign_in
from tests.conftest import REPO_ROOT
from tests.factories import make_user

pytestmark = pytest.mark.browser

CLI = str(Path(sys.executable).with_name("ra-workbench"))
SERVICES = REPO_ROOT / "scripts" / "services.sh"
API_TOKEN = "e2e-portal-token-0123456789abcdef"
GUNICORN_WORKERS = 3
# Generous bounds for a loaded 2-core machine: every wait polls and returns as soon as done.
STARTUP_SECONDS = 180
JOB_SECONDS = 420


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(what: str, condition: Callable[[], Any], timeout: float = JOB_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


# --- the backing services ------------------------------------------------------------------


def postgresql_server_url() -> str:
    """The PostgreSQL server of the suite: RA_TEST_DATABASE_URL on the PostgreSQL pass, else
    the one scripts/services.sh starts (or reuses) and prints, as .ci/run does."""
    url = os.environ.get("RA_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        return url
    printed = subprocess.run(
        ["bash", str(SERVICES), "start"], capture_output=True, text=True, timeout=180, check=True
    ).stdout
    found = re.search(r"RA_TEST_DATABASE_URL=(\S+)", printed)
    assert found, f"scripts/services.sh did not print a database URL: {printed!r}"
    return found.group(1)


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A database of this module's own on the suite's PostgreSQL server, dropped afterwards."""
    server = sa.make_url(postgresql_server_url())
    name = f"ra_e2e_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """An empty Redis database of this module's own on the suite's Redis server (other tests
    use database 0): the workers take only this run's jobs."""
    base = os.environ.get("RA_TEST_REDIS_URL")
    if not base:
        raise RuntimeError("RA_TEST_REDIS_URL is not set: run the suite through `make test`")
    claim = f"ra-workbench:e2e:{uuid.uuid4().hex}"
    for index in range(1, 16):
        url = re.sub(r"/\d*$", "", base.rstrip("/")) + f"/{index}"
        connection = Redis.from_url(url)
        if connection.dbsize() == 0 and connection.set(claim, "1", nx=True, ex=3 * 3600):
            if connection.dbsize() == 1:
                break
            connection.delete(claim)
    else:
        raise RuntimeError(f"no empty Redis database on {base} for the production run")
    yield url
    connection.flushdb()
    connection.close()


# --- the processes -------------------------------------------------------------------------


@dataclass
class Started:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes]
    stderr: Path

    def tail(self, chars: int = 4000) -> str:
        text = self.stderr.read_text(errors="replace") if self.stderr.exists() else ""
        return text[-chars:]


def _session_members(session_id: int) -> list[int]:
    """Every live process of a session: the leader and all it forked, whatever their group."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session_id and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@dataclass
class Production:
    env: dict[str, str]
    logs: Path
    base_url: str = ""
    started: list[Started] = field(default_factory=list)

    def start(self, name: str, argv: list[str]) -> Started:
        stderr = self.logs / f"{name}.stderr"
        with stderr.open("wb") as sink:
            process = subprocess.Popen(
                argv,
                env=self.env,
                cwd=REPO_ROOT,
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        started = Started(name, argv, process, stderr)
        self.started.append(started)
        return started

    def process(self, name: str) -> Started:
        return next(s for s in self.started if s.name == name)

    def alive(self, *names: str) -> None:
        for s in self.started:
            if not names or s.name in names:
                code = s.process.poll()
                assert code is None, f"{s.name} exited ({code}):\n{s.tail()}"

    def stop(self) -> None:
        for s in self.started:
            if s.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(s.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for s in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                s.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for s in self.started:  # whatever is left, work horses and gunicorn workers included
            for pid in _session_members(s.process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                s.process.wait(timeout=10)

    def report(self) -> str:
        lines = ["production run — processes started:"]
        for s in self.started:
            lines.append(f"  {s.name:10} pid {s.process.pid:>7}  {shlex.join(s.argv)}")
        return "\n".join(lines)


def serve_command(port: int) -> list[str]:
    """The gunicorn command line of `make serve`, as make would run it."""
    printed = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-n",
            "serve",
            f"WORKERS={GUNICORN_WORKERS}",
            "HOST=127.0.0.1",
            f"PORT={port}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.replace("\\\n", " ")
    [line] = [line for line in printed.splitlines() if "bin/gunicorn" in line]
    argv = shlex.split(line)
    argv[0] = str(REPO_ROOT / argv[0]) if not Path(argv[0]).is_absolute() else argv[0]
    return argv


def _say(config: pytest.Config, text: str) -> None:
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\n{text}", flush=True)


@pytest.fixture(scope="module")
def production(
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Production]:
    data = tmp_path_factory.mktemp("e2e-data")
    logs = tmp_path_factory.mktemp("e2e-logs")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RA_TEST_", "RA_WORKBENCH_", "PYTEST_"))
    } | {
        "RA_WORKBENCH_DATA": str(data),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RA_WORKBENCH_SECRET_KEY": f"e2e-{uuid.uuid4().hex}",
        "RA_WORKBENCH_CA_PASSPHRASE": "e2e-ca-passphrase",
        "RA_WORKBENCH_API_TOKENS": f"portal={API_TOKEN}",
        "RA_WORKBENCH_LOG_FORMAT": "json",
    }
    run = Production(env, logs)
    migrated = subprocess.run(
        [CLI, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    port = _free_port()
    run.base_url = f"http://127.0.0.1:{port}"
    started = False
    try:
        run.start("gunicorn", serve_command(port))
        token = uuid.uuid4().hex[:8]
        for n in (1, 2):
            run.start(f"worker-{n}", [CLI, "worker", "--name", f"e2e-{token}-{n}"])
        run.start("scheduler", [CLI, "scheduler", "--interval", "5"])

        def ready() -> bool:
            run.alive()
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{run.base_url}/readyz", timeout=10).status_code == 200
            return False

        wait_until("/readyz to answer 200", ready, STARTUP_SECONDS)
        wait_until(
            f"{GUNICORN_WORKERS} gunicorn workers",
            lambda: len(children(run.process("gunicorn").process.pid)) >= GUNICORN_WORKERS,
            STARTUP_SECONDS,
        )
        _say(request.config, run.report())
        started = True
        yield run
    finally:
        run.stop()
        failed = not started or any(
            getattr(getattr(item, "report_call", None), "failed", False)
            for item in request.session.items
            if getattr(item, "module", None) is request.module
        )
        if failed:
            _say(request.config, run.report())
            _say(
                request.config,
                "\n".join(f"--- {s.name} (stderr, tail) ---\n{s.tail()}" for s in run.started),
            )
        assert not [s.name for s in run.started if s.process.poll() is None], "left running"


@pytest.fixture(scope="module")
def reader(production: Production) -> Iterator[Flask]:
    """The test's own view of the database and store (as an engineer's shell would)."""
    settings = Settings.from_env(production.env)
    app = create_app(settings)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = browser.new_context(locale="fr-FR", viewport=SCREEN).new_page()  # type: ignore[arg-type]
    page.set_default_timeout(60_000)
    yield page
    page.context.close()


# --- helpers -------------------------------------------------------------------------------


def _zip(path: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()


def upload(production: Production, package: bytes) -> requests.Response:
    return requests.post(
        f"{production.base_url}/api/v1/dossiers",
        files={"package": ("dossier.zip", package, "application/zip")},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=300,
    )


def fresh(query: Any) -> Any:
    db.session.remove()
    return db.session.scalars(query).unique().all()


def dossier_by_order(order: str) -> Dossier | None:
    found = fresh(sa.select(Dossier).where(Dossier.order_number == order))
    return found[0] if found else None


def rq_queue(redis_url: str) -> Any:
    from rq import Queue

    return Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))


def rq_scheduler_parent(queue: Any) -> int | None:
    """The pid of the worker whose forked child runs rq's scheduler (holds its lock)."""
    from rq.scheduler import SCHEDULER_LOCKING_KEY_TEMPLATE, RQScheduler

    name = queue.connection.get(SCHEDULER_LOCKING_KEY_TEMPLATE % QUEUE_NAME)
    if not name:
        return None
    from rq.exceptions import SchedulerNotFound

    try:  # the lock is taken a moment before the scheduler's process registers
        scheduler = RQScheduler.fetch(name.decode(), queue.connection)
        stat = Path(f"/proc/{scheduler.pid}/stat").read_text()
    except (SchedulerNotFound, OSError):
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def worker_names(production: Production) -> set[str]:
    names = set()
    for s in production.started:
        if s.name.startswith("worker-"):
            names.add(s.argv[s.argv.index("--name") + 1])
    return names


# --- the journey ---------------------------------------------------------------------------


def test_one_dossier_from_the_portal_to_the_activation_code_over_http(
    production: Production, reader: Flask, redis_url: str, page: Page, tmp_path: Path
) -> None:
    today = today_in_paris()
    order = f"9{uuid.uuid4().int % 10**5:05d}"
    package = generate_dossier(
        tmp_path / "package",
        seed=1801,
        order_number=order,
        today=today,
        variant={"delivery_mode": "shipping", "has_mandataire": False},
    )
    uploaded = upload(production, _zip(package))
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["outcome"] == "created"

    # The checks run in a worker, not in the web process that took the upload.
    def checked() -> Dossier | None:
        dossier = dossier_by_order(order)
        return dossier if dossier is not None and dossier.verdict else None

    dossier = wait_until("the checks of the uploaded dossier", checked)
    runs = fresh(sa.select(CheckRun).where(CheckRun.dossier_id == dossier.id))
    assert len(runs) == 1
    queue = rq_queue(redis_url)
    finished = [queue.fetch_job(j) for j in queue.finished_job_registry.get_job_ids()]
    checks = [j for j in finished if j is not None and "checks.tasks:run_checks" in str(j.args)]
    assert checks, "the checks should have run as an rq job"
    assert {j.worker_name for j in checks} <= worker_names(production)
    assert dossier.verdict == "waiting_signatures"

    # The portal forwards the GoSign events: both signatures in, a worker checks again.
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    for signer in ("holder", "legal_representative"):
        signed = requests.post(
            f"{production.base_url}/api/v1/signatures",
            data=json.dumps(
                {
                    "format": "portail-signature/1",
                    "order_number": order,
                    "signer": signer,
                    "status": "signed",
                    "identity_verification": "self_id_passed",
                    "evidence_id": f"GS-{order}-{signer}",
                    "at": at,
                }
            ),
            headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
            timeout=120,
        )
        assert signed.status_code == 200, signed.text
        assert signed.json()["outcome"] == "recorded"

    def ready() -> Dossier | None:
        found = dossier_by_order(order)
        return found if found is not None and found.verdict != "waiting_signatures" else None

    dossier = wait_until("the checks after the signatures", ready)
    [*_, latest] = fresh(
        sa.select(CheckRun).where(CheckRun.dossier_id == dossier.id).order_by(CheckRun.id)
    )
    assert dossier.verdict == "ready", [
        (r.rule, r.outcome, r.message) for r in latest.results if r.outcome != "pass"
    ]

    # The operator signs in with the second factor and approves in Chromium.
    operator = make_user(db.session, first_name="Olivia", last_name="Perrin")
    db.session.commit()
    sign_in(page, production.base_url, operator)
    page.click(f"tr[data-order='{order}'] a")
    expect(page.locator("h1")).to_contain_text(order)
    page.click("#claim-button")
    expect(page.locator(".flash-success")).to_contain_text("Dossier pris en charge")
    page.fill("#approve-comment", "Pièces conformes, identité vérifiée.")
    page.click("#approve-button")
    expect(page.locator(".flash-success")).to_contain_text("Dossier validé")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "e2e-01-dossier-valide.png"), full_page=True)

    # A worker issues the certificate onto a fresh SoftHSM2 token and prepares the shipment.
    def issued() -> Certificate | None:
        found = fresh(sa.select(Certificate).where(Certificate.dossier_id == dossier.id))
        return found[0] if found and found[0].token_serial else None

    certificate = wait_until("the certificate, issued by a worker", issued)
    shipment = wait_until(
        "the shipment",
        lambda: fresh(sa.select(Shipment).where(Shipment.dossier_id == dossier.id)),
    )[0]
    assert shipment.state == "prepared"

    # Delivery on the staff pages: shipped, then delivered.
    page.goto(f"{production.base_url}/remise/envois?q={order}")
    row = page.locator("tr", has_text=shipment.tracking_number)
    row.get_by_role("button", name="Expédié").click()
    expect(page.locator(".flash-success")).to_contain_text("Expédié")
    row = page.locator("tr", has_text=shipment.tracking_number)
    row.get_by_role("button", name="Livré").click()
    expect(page.locator(".flash-success")).to_contain_text("Livré")
    page.screenshot(path=str(SCREENSHOTS / "e2e-02-envoi-livre.png"), full_page=True)

    # The activation code goes to the holder through the outbox.
    [activation] = wait_until(
        "the activation code in the outbox",
        lambda: fresh(
            sa.select(OutboxMessage).where(
                OutboxMessage.dossier_id == dossier.id,
                OutboxMessage.template == "activation_code",
            )
        ),
    )
    assert activation.certificate_serial == certificate.serial_number
    assert activation.channel == "sms"  # the holder's choice in the package
    # The code is filled in when the message leaves; derived as the sender derives it, it is
    # the user PIN of the token the worker prepared, and opens it.
    assert ACTIVATION_PLACEHOLDER in activation.body
    code = activation_code_for(activation.certificate_serial)
    token = TokenConfig.from_env(Path(production.env["RA_WORKBENCH_DATA"]))
    pem = x509.load_pem_x509_certificate(certificate.pem.encode())
    assert certificates_on_token(
        token.of_token(str(certificate.token_serial)), activation_code=code
    ) == [pem.public_bytes(serialization.Encoding.DER)]

    status = requests.get(
        f"{production.base_url}/api/v1/dossiers/{order}/status",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=60,
    )
    assert status.status_code == 200, status.text
    assert status.json()["certificates"] == "1 / 1"
    assert status.json()["status"] == DossierStatus.DELIVERED.value
    assert verify(db.session).ok
    production.alive()


# --- a worker killed in the middle of a batch re-check -------------------------------------

BATCH = 6


def test_killing_a_worker_mid_batch_recheck_loses_nothing(
    production: Production,
    reader: Flask,
    redis_url: str,
    tmp_path: Path,
    pytestconfig: pytest.Config,
) -> None:
    today = today_in_paris()
    orders = [f"8{uuid.uuid4().int % 10**5:05d}" for _ in range(BATCH)]
    for n, order in enumerate(orders):
        package = generate_dossier(
            tmp_path / order, seed=1900 + n, order_number=order, today=today, light=True
        )
        assert upload(production, _zip(package)).status_code == 201
    wait_until(
        "the first checks of the batch's dossiers",
        lambda: all((d := dossier_by_order(o)) is not None and d.verdict for o in orders),
    )
    ids = [d.id for o in orders if (d := dossier_by_order(o)) is not None]
    pending = fresh(sa.select(Dossier.id).where(Dossier.id.in_(ids), Dossier.status == "pending"))
    assert sorted(pending) == sorted(ids), "every dossier of the batch waits to be re-checked"

    day = today + dt.timedelta(days=1)  # the re-check of tomorrow's night: none skipped
    queue = rq_queue(redis_url)
    # rq runs its scheduler of delayed retries in a process forked by one worker only. The
    # worker killed is the other one: had it been that one, the survivor would take the
    # scheduler over at its next maintenance (rq: every 10 minutes) and the retry would
    # wait until then — later, still not lost, but too long for the suite.
    holder = wait_until("rq's scheduler in one of the workers", lambda: rq_scheduler_parent(queue))
    [doomed] = [
        s for s in production.started if s.name.startswith("worker-") and s.process.pid != holder
    ]
    [survivor] = [s for s in production.started if s.name.startswith("worker-") and s is not doomed]
    doomed_name = doomed.argv[doomed.argv.index("--name") + 1]
    engine = db.engine
    # Hold the batch's dossiers: each work horse stops in the middle of its dossier, its
    # transaction open, when it comes to write the run.
    with engine.connect() as holder:
        transaction = holder.begin()
        holder.execute(sa.select(Dossier.id).where(Dossier.id.in_(ids)).with_for_update())
        enqueued = subprocess.run(
            [CLI, "jobs", "recheck-pending", "--today", day.isoformat(), "--enqueue", "--json"],
            env=production.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert enqueued.returncode == 0, enqueued.stderr[-3000:]
        assert f'"enqueued": {BATCH}' in enqueued.stdout

        def both_horses_waiting() -> bool:
            waiting = holder.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            return int(waiting) >= 2

        wait_until("both workers in the middle of a dossier", both_horses_waiting)
        from rq import Worker

        worker = Worker.find_by_key(
            f"{Worker.redis_worker_namespace_prefix}{doomed_name}", connection=queue.connection
        )
        assert worker is not None
        killed_job_id = worker.get_current_job_id()
        assert killed_job_id is not None
        assert killed_job_id.startswith(f"recheck_{day}_")
        horses = children(doomed.process.pid)
        assert horses, "the job runs in a forked work horse"
        for pid in [doomed.process.pid, *horses]:
            os.kill(pid, signal.SIGKILL)
        doomed.process.wait(timeout=30)
        _say(
            pytestconfig,
            f"SIGKILL: {doomed.name} (pid {doomed.process.pid}) and its children "
            f"{horses} in the middle of {killed_job_id}; {survivor.name} goes on",
        )
        transaction.rollback()

    killed_dossier = int(killed_job_id.rsplit("_", 1)[1])

    def runs_of(dossier_id: int) -> list[CheckRun]:
        return list(
            fresh(
                sa.select(CheckRun).where(
                    CheckRun.dossier_id == dossier_id, CheckRun.evaluation_date == day
                )
            )
        )

    # The other worker goes on with the batch; the killed job stays « started » in rq's
    # registry, its transaction gone with the horse.
    others = [i for i in ids if i != killed_dossier]
    wait_until(
        "the other worker to finish the rest of the batch",
        lambda: (
            all(len(runs_of(i)) == 1 for i in others)
            and queue.count == 0
            and queue.started_job_registry.get_job_ids() == [killed_job_id]
        ),
    )
    killed = queue.fetch_job(killed_job_id)
    assert killed is not None
    assert killed.get_status(refresh=True) == "started"
    assert runs_of(killed_dossier) == []  # nothing half-done was committed

    # rq's recovery, its clock moved past the dead worker's last heartbeat (instead of
    # waiting for it): the job is retried, by the surviving worker.
    queue.started_job_registry.cleanup(timestamp=time.time() + 3600)
    wait_until(
        "the killed job, retried by the surviving worker",
        lambda: killed.get_status(refresh=True) == "finished",
    )
    killed.refresh()
    assert killed.worker_name == survivor.argv[-1]
    assert killed.retries_left == 2  # one of the three retries (rules/jobs.toml) spent

    for dossier_id in ids:  # each re-checked exactly once: none lost, none twice
        [run] = runs_of(dossier_id)
        assert run.trigger == "nightly"
    for dossier_id in ids:
        job = queue.fetch_job(f"recheck_{day}_{dossier_id}")
        assert job is not None
        assert job.get_status(refresh=True) == "finished"
    assert verify(db.session).ok
    production.alive("gunicorn", survivor.name, "scheduler")
