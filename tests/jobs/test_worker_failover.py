"""Killing a worker mid-job loses nothing: the job is retried and completes.

A real `ra-workbench worker` subprocess (rq's forking worker) takes a job that has written
to the database and holds its transaction open; the worker and its work horse are killed
with SIGKILL, as a machine crash or the OOM killer would. (Killing only the worker leaves
the horse, in its own process group, to finish the job by itself.) The transaction dies
with them: nothing half-done is committed. rq keeps the job in the StartedJobRegistry
until its heartbeat expires (job_monitoring_interval + 60 s after the last beat); the next
worker's registry maintenance then finds it abandoned and, the job having retries left,
re-queues it (rq 2.x `StartedJobRegistry.cleanup` → `job.retry`). The test moves that
clock forward by passing a later timestamp to the same cleanup rather than sleeping 90 s;
a new worker then runs the job to completion.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from redis import Redis

from ra_workbench.audit.models import AuditEvent
from ra_workbench.audit.service import verify
from ra_workbench.config import Settings
from ra_workbench.extensions import db
from ra_workbench.jobs.queue import dispatch, rq_queue
from ra_workbench.unit import unit_of_work

CLI = str(Path(sys.executable).with_name("ra-workbench"))


def _worker_env(settings: Settings, redis_url: str) -> dict[str, str]:
    return os.environ | {
        "RA_WORKBENCH_DATA": str(settings.data_dir),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": redis_url,
        "RA_WORKBENCH_SECRET_KEY": settings.secret_key,
        "RA_WORKBENCH_CA_PASSPHRASE": "test-ca-passphrase",
    }


def _wait_for(path: Path, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"worker exited early ({process.returncode})")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.1)


def _children(pid: int) -> list[int]:
    """rq's work horse runs in its own process group (os.setpgrp): find it by parent."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _pings(token: str) -> int:
    db.session.remove()
    with unit_of_work() as session:
        return sum(
            1
            for e in session.scalars(
                sa.select(AuditEvent).where(AuditEvent.event_type == "jobs.ping")
            )
            if e.payload.get("token") == token
        )


def test_killing_a_worker_mid_job_loses_nothing(  # noqa: PLR0917 - fixtures
    app: Flask,
    settings: Settings,
    redis_url: str,
    with_redis: Redis,
    fast_retries: None,
    tmp_path: Path,
) -> None:
    token = uuid.uuid4().hex[:12]
    gate = tmp_path / "gate"
    dispatch("ra_workbench.jobs.tasks:ping", token, str(gate), job_id=f"ping:{token}")
    db.session.remove()  # SQLite: hold no lock while the worker writes
    env = _worker_env(settings, redis_url)

    first = subprocess.Popen(
        [CLI, "worker", "--burst", "--without-scheduler", "--name", f"doomed-{token}"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _wait_for(Path(f"{gate}.started"), first)
    horses = _children(first.pid)
    assert horses, "the job should run in a forked work horse"
    for pid in [first.pid, *horses]:  # the worker and its work horse, mid-job
        os.kill(pid, signal.SIGKILL)
    first.wait(timeout=30)

    queue = rq_queue(with_redis)
    job = queue.fetch_job(f"ping_{token}")
    assert job is not None
    assert job.get_status(refresh=True) == "started"  # rq does not know yet
    assert _pings(token) == 0  # the uncommitted write died with the worker

    # rq's own recovery, its clock moved past the dead worker's last heartbeat.
    queue.started_job_registry.cleanup(timestamp=time.time() + 3600)
    assert job.get_status(refresh=True) == "queued"

    gate.touch()
    second = subprocess.run(
        [CLI, "worker", "--burst", "--without-scheduler", "--name", f"rescuer-{token}"],
        env=env,
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    assert job.get_status(refresh=True) == "finished"
    job.refresh()
    assert job.retries_left == 2  # one retry spent on the abandoned attempt
    assert _pings(token) == 1  # done exactly once
    with unit_of_work() as session:
        assert verify(session).ok
