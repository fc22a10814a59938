"""Benchmark: the nightly re-check of N pending dossiers (default 10,000) with cached
extraction, run by 1 and then by 2 rq workers against a real Redis and PostgreSQL.

Seeds N dossiers and their extraction cache (scripts/bench_checks.py's shape), then for
each pass enqueues one `recheck_dossier` job per dossier (what `nightly_recheck` fans out,
a new evaluation day per pass so that no job is skipped as already done) and starts that
many `ra-workbench worker --burst` processes. Reports, per pass, the wall time from the
workers' start to the last exit and the span between the first and the last check run
written (without the workers' start-up), the throughput, and the 2-worker/1-worker ratio.

    source <(bash scripts/services.sh start)
    .venv/bin/python scripts/bench_batch.py [--dossiers 10000] [--workers 1 2]

Uses RA_BENCH_DATABASE_URL (its public schema is dropped and rebuilt) and
RA_TEST_REDIS_URL (the Redis database is flushed): use bench services.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

FIRST_DAY = dt.date(2026, 11, 21)
CLI = str(Path(sys.executable).with_name("ra-workbench"))


def _prepare(database_url: str, redis_url: str, count: int, data_dir: Path) -> Any:
    import sqlalchemy as sa
    from bench_checks import seed
    from flask_migrate import upgrade

    from ra_workbench.app import ROOT, create_app
    from ra_workbench.config import Settings
    from ra_workbench.extensions import db

    settings = Settings.from_env(
        {
            "RA_WORKBENCH_DATA": str(data_dir),
            "RA_WORKBENCH_SECRET_KEY": "bench",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
        }
    )
    app = create_app(settings)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))
        started = time.perf_counter()
        seed(count)
        print(f"seeded {count} dossiers in {time.perf_counter() - started:.1f} s", flush=True)
        db.session.remove()
    return app, settings


def _pass(  # noqa: PLR0917 - one call site, all needed
    app: Any, settings: Any, redis_url: str, workers: int, day: dt.date, extra: list[str]
) -> dict[str, Any]:
    import sqlalchemy as sa
    from redis import Redis

    from ra_workbench.checks.models import CheckRun
    from ra_workbench.checks.recheck import RECHECK_TASK, recheck_candidates
    from ra_workbench.extensions import db
    from ra_workbench.jobs.queue import enqueue, rq_queue

    connection = Redis.from_url(redis_url)
    connection.flushdb()
    with app.app_context():
        ids = recheck_candidates(db.session)
        db.session.remove()
        for dossier_id in ids:
            enqueue(
                RECHECK_TASK,
                dossier_id,
                day.isoformat(),
                job_id=f"recheck:{day}:{dossier_id}",
                connection=connection,
            )
        db.engine.dispose()
    env = os.environ | {
        "RA_WORKBENCH_DATA": str(settings.data_dir),
        "RA_WORKBENCH_SECRET_KEY": "bench",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": redis_url,
    }
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [CLI, "worker", "--burst", "--without-scheduler", "--name", f"bench-{day}-{n}", *extra],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(workers)
    ]
    codes = [p.wait() for p in procs]
    wall = time.perf_counter() - started
    with app.app_context():
        first, last, runs = db.session.execute(
            sa.select(
                sa.func.min(CheckRun.created_at),
                sa.func.max(CheckRun.created_at),
                sa.func.count(CheckRun.id),
            ).where(CheckRun.evaluation_date == day, CheckRun.trigger == "nightly")
        ).one()
        verdicts = dict(
            db.session.execute(
                sa.select(CheckRun.verdict, sa.func.count())
                .where(CheckRun.evaluation_date == day)
                .group_by(CheckRun.verdict)
            ).all()
        )
        db.session.remove()
    failed = len(rq_queue(connection).failed_job_registry)
    span = (last - first).total_seconds() if first and last else 0.0
    return {
        "workers": workers,
        "day": day.isoformat(),
        "jobs": len(ids),
        "runs": runs,
        "failed_jobs": failed,
        "exit_codes": codes,
        "wall_s": round(wall, 1),
        "span_s": round(span, 1),
        "per_s_wall": round(len(ids) / wall, 1),
        "per_s_span": round(runs / span, 1) if span > 0 else None,
        "verdicts": verdicts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dossiers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--database-url", default=os.environ.get("RA_BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("RA_TEST_REDIS_URL"))
    parser.add_argument("--json", dest="json_out", default=None)
    parser.add_argument(
        "--no-fork", action="store_true", help="workers run jobs in-process (rq SimpleWorker)"
    )
    args = parser.parse_args()
    extra = ["--no-fork"] if args.no_fork else []
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("a PostgreSQL URL is needed (RA_BENCH_DATABASE_URL or --database-url)")
    if not args.redis_url:
        parser.error("a Redis URL is needed (RA_TEST_REDIS_URL or --redis-url)")

    data_dir = Path(tempfile.mkdtemp(prefix="ra-bench-batch-"))
    app, settings = _prepare(args.database_url, args.redis_url, args.dossiers, data_dir)
    results = []
    for index, workers in enumerate(args.workers):
        day = FIRST_DAY + dt.timedelta(days=index)
        result = _pass(app, settings, args.redis_url, workers, day, extra)
        print(json.dumps(result), flush=True)
        results.append(result)

    print(
        f"\nNightly re-check of {args.dossiers} pending dossiers, cached extraction "
        f"({platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPU, PostgreSQL + Redis on the same machine)\n"
    )
    print(f"{'workers':<10}{'wall s':>10}{'span s':>10}{'/s (wall)':>12}{'/s (span)':>12}")
    for r in results:
        print(
            f"{r['workers']:<10}{r['wall_s']:>10}{r['span_s']:>10}"
            f"{r['per_s_wall']:>12}{r['per_s_span'] or '-':>12}"
        )
    by_workers = {r["workers"]: r for r in results}
    if 1 in by_workers and 2 in by_workers:
        ratio_wall = by_workers[2]["per_s_wall"] / by_workers[1]["per_s_wall"]
        print(f"\n2-worker / 1-worker throughput ratio: {ratio_wall:.2f} (wall)", end="")
        if by_workers[1]["per_s_span"] and by_workers[2]["per_s_span"]:
            ratio_span = by_workers[2]["per_s_span"] / by_workers[1]["per_s_span"]
            print(f", {ratio_span:.2f} (span)")
        else:
            print()
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
