"""Benchmark: ingest N generated portal packages (default 1,000) and report time and memory.

Ingestion enqueues the checks on Redis (as in production) so that no OCR runs here:
the figure is ingestion proper — unzip/read, validate, sniff, hash, store, rows, audit.

    .venv/bin/python scripts/bench_ingest.py --count 1000 [--database-url URL] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--redis-url", default=os.environ.get("RA_TEST_REDIS_URL"))
    parser.add_argument("--zip", action="store_true", help="zipped packages instead of dirs")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    if not args.redis_url:
        parser.error("a Redis URL is needed (source <(scripts/services.sh start))")

    from flask_migrate import upgrade
    from redis import Redis

    from ra_workbench.app import ROOT, create_app
    from ra_workbench.config import Settings
    from ra_workbench.extensions import db
    from ra_workbench.ingest.package import read_package_path
    from ra_workbench.ingest.service import ingest, package_limits
    from ra_workbench.synth.packages import generate_batch

    work = Path(tempfile.mkdtemp(prefix="ra-bench-ingest-"))
    t0 = time.perf_counter()
    packages = generate_batch(
        work / "packages",
        count=args.count,
        seed=args.seed,
        today=dt.date(2026, 11, 20),
        defect_rate=0.3,
        zip_package=args.zip,
        light=True,
    )
    generation_s = time.perf_counter() - t0
    total_bytes = sum(
        f.stat().st_size
        for p in packages
        for f in ([p] if p.is_file() else p.rglob("*"))
        if f.is_file()
    )

    env = {
        "RA_WORKBENCH_DATA": str(work / "data"),
        "REDIS_URL": args.redis_url,
        "RA_WORKBENCH_SECRET_KEY": "bench",
    }
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    settings = Settings.from_env(env)
    app = create_app(settings)
    Redis.from_url(args.redis_url).flushdb()
    with app.app_context():
        if settings.database_url.startswith("postgresql"):
            import sqlalchemy as sa

            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))
        limits = package_limits()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        timings = []
        outcomes: dict[str, int] = {}
        start = time.perf_counter()
        for path in packages:
            t = time.perf_counter()
            outcome = ingest(
                lambda p=path: read_package_path(p, limits), name=path.name, source="bench"
            )
            timings.append(time.perf_counter() - t)
            outcomes[outcome.outcome] = outcomes.get(outcome.outcome, 0) + 1
        wall = time.perf_counter() - start
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Redis.from_url(args.redis_url).flushdb()

    ms = sorted(t * 1000 for t in timings)
    report = {
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "backend": "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite",
        "packages": len(packages),
        "package_bytes_total": total_bytes,
        "outcomes": outcomes,
        "generation_s": round(generation_s, 2),
        "ingest_wall_s": round(wall, 2),
        "ms_per_package_median": round(statistics.median(ms), 2),
        "ms_per_package_p95": round(ms[int(len(ms) * 0.95) - 1], 2),
        "ms_per_package_mean": round(statistics.fmean(ms), 2),
        "peak_rss_mb": round(rss_after / 1024, 1),
        "rss_growth_mb": round((rss_after - rss_before) / 1024, 1),
        "target_ms_per_package": 50,
    }
    print(json.dumps(report, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
