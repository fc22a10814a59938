"""Benchmark: the validation queue and its search with 100,000 dossiers on PostgreSQL.

Fills the database named by RA_BENCH_DATABASE_URL (schema rebuilt by the migrations)
with N dossiers, their organisations, two people each, one or two check runs each with
the whole catalogue of results (COPY, a few seconds per million rows), then measures the
server time of the queue page, its tabs and filters, and the search, through the Flask
test client signed in as an operator: R repetitions each, median and p95 in ms.

    source <(bash scripts/services.sh start)
    .venv/bin/python scripts/bench_queue.py [--count 100000] [--repeat 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ra_workbench.checks.results import RULE_IDS

QUEUE_INDEXES = {
    "ix_dossiers_queue",
    "ix_check_results_rule_outcome_run",
    "ix_check_runs_dossier_latest",
    "ix_organisations_name_trgm",
    "ix_people_last_name_trgm",
    "ix_people_first_name_trgm",
}
BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 - a throwaway account in the bench database
RULES = tuple(rule for rule in RULE_IDS if rule != "mandate.valid")
SURNAMES = [
    "MARTIN",
    "BERNARD",
    "THOMAS",
    "PETIT",
    "ROBERT",
    "RICHARD",
    "DURAND",
    "DUBOIS",
    "MOREAU",
    "LAURENT",
    "SIMON",
    "MICHEL",
    "LEFEBVRE",
    "LEROY",
    "ROUX",
    "DAVID",
    "BERTRAND",
    "MOREL",
    "FOURNIER",
    "GIRARD",
    "BONNET",
    "DUPONT",
    "LAMBERT",
    "FONTAINE",
    "ROUSSEAU",
    "VINCENT",
    "MULLER",
    "LEFEVRE",
    "FAURE",
    "ANDRE",
    "MERCIER",
    "BLANC",
    "GUERIN",
    "BOYER",
    "GARNIER",
    "CHEVALIER",
]
GIVEN = [
    "CLAIRE",
    "PAUL",
    "ANNE",
    "JEAN",
    "MARIE",
    "PIERRE",
    "SOPHIE",
    "LUC",
    "JULIE",
    "NICOLAS",
    "LEA",
    "HUGO",
    "EMMA",
    "LOUIS",
]
TRADES = [
    "BOULANGERIE",
    "GARAGE",
    "CABINET",
    "ATELIERS",
    "TRANSPORTS",
    "PHARMACIE",
    "SCI",
    "BATIMENT",
    "CONSEIL",
]
# Share of dossiers per (status, verdict): most wait in the queue's four verdict tabs.
MIX = (
    (("pending", "ready"), 0.33),
    (("pending", "incomplete"), 0.27),
    (("pending", "waiting_signatures"), 0.15),
    (("pending", "blocked"), 0.05),
    (("pending", None), 0.02),
    (("awaiting_second_approval", "incomplete"), 0.01),
    (("documents_requested", "incomplete"), 0.07),
    (("approved", "ready"), 0.06),
    (("certificate_issued", "ready"), 0.03),
    (("rejected", "blocked"), 0.01),
)


def luhn_siren(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(8)]
    for key in range(10):
        candidate = [*digits, key]
        total = 0
        for i, d in enumerate(reversed(candidate)):
            d2 = d * 2 if i % 2 else d
            total += d2 - 9 if d2 > 9 else d2
        if total % 10 == 0:
            return "".join(map(str, candidate))
    raise AssertionError("unreachable")


def _copy(
    cursor: Any, table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]
) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def fill(engine: Any, count: int, seed: int, now: dt.datetime) -> dict[str, float]:
    rng = random.Random(seed)
    states = [s for s, _ in MIX]
    weights = [w for _, w in MIX]
    timings: dict[str, float] = {}
    plan = []
    for i in range(1, count + 1):
        status, verdict = rng.choices(states, weights)[0]
        plan.append((i, status, verdict))

    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        t0 = time.perf_counter()
        _copy(
            cursor,
            "organisations",
            ("id", "siren", "name", "legal_form", "manual_entry", "address"),
            (
                (
                    i,
                    luhn_siren(rng),
                    f"{rng.choice(TRADES)} {rng.choice(SURNAMES)} {i}",
                    "SAS",
                    False,
                    json.dumps({"city": "LYON", "postcode": "69003"}),
                )
                for i, _, _ in plan
            ),
        )
        columns = (
            "id",
            "order_number",
            "revision",
            "format",
            "submitted_at",
            "received_at",
            "updated_at",
            "offer_code",
            "offer_label",
            "delivery_mode",
            "dossier_type",
            "delivery_info",
            "payment_method",
            "payment_transaction_id",
            "documents_valid_attested",
            "certificates_ordered",
            "status",
            "verdict",
            "verdict_at",
            "declared",
            "organisation_id",
        )

        def dossiers() -> Iterator[tuple[Any, ...]]:
            for i, status, verdict in plan:
                submitted = now - dt.timedelta(minutes=rng.randrange(60 * 24 * 60))
                card = rng.random() < 0.7
                yield (
                    i,
                    str(100000 + i),
                    1,
                    "portail-commande/1",
                    submitted,
                    submitted,
                    submitted,
                    "PP-RGS2-USB",
                    "Certificat personne physique",
                    "shipping" if rng.random() < 0.6 else "pickup",
                    "dematerialised",
                    "",
                    "card" if card else "transfer",
                    f"PAY-{i}" if card else None,
                    True,
                    1,
                    status,
                    verdict,
                    submitted if verdict else None,
                    "{}",
                    i,
                )

        _copy(cursor, "dossiers", columns, dossiers())

        def people() -> Iterator[tuple[Any, ...]]:
            pid = 0
            for i, _, _ in plan:
                for role in ("holder", "legal_representative"):
                    pid += 1
                    first, last = rng.choice(GIVEN), rng.choice(SURNAMES)
                    yield (
                        pid,
                        i,
                        role,
                        "M",
                        first,
                        last,
                        f"{first}.{last}.{pid}@client.test".lower(),
                        "0612345678",
                        "{}",
                        False,
                    )

        _copy(
            cursor,
            "people",
            (
                "id",
                "dossier_id",
                "role",
                "civility",
                "first_name",
                "last_name",
                "email",
                "mobile",
                "address",
                "same_as_legal_representative",
            ),
            people(),
        )
        timings["dossiers_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        runs: list[tuple[int, int, str, list[str]]] = []  # run id, dossier id, verdict, fails
        run_id = 0
        for i, _, verdict in plan:
            if verdict is None:
                continue
            if rng.random() < 0.3:  # an earlier run, superseded
                run_id += 1
                runs.append((run_id, i, "incomplete", [rng.choice(RULES)]))
            run_id += 1
            fails = rng.sample(RULES[:-1], rng.randint(1, 3)) if verdict == "incomplete" else []
            runs.append((run_id, i, verdict, fails))
        today = now.date()
        _copy(
            cursor,
            "check_runs",
            (
                "id",
                "dossier_id",
                "revision",
                "evaluation_date",
                "rules_hash",
                "extractor_version",
                "verdict",
                "trigger",
                "inputs_hash",
                "created_at",
            ),
            ((r, d, 1, today, "0" * 64, "bench", v, "ingest", "", now) for r, d, v, _ in runs),
        )

        def results() -> Iterator[tuple[Any, ...]]:
            rid = 0
            for r, _d, verdict, fails in runs:
                for rule in RULES:
                    rid += 1
                    if rule in fails:
                        outcome = "fail"
                    elif verdict == "waiting_signatures" and rule == "signatures.complete":
                        outcome = "pending"
                    elif verdict == "blocked" and rule == "identity.mrz":
                        outcome = "error"
                    else:
                        outcome = "pass"
                    message = "Contrôle conforme." if outcome == "pass" else f"{rule} : {outcome}"
                    yield (rid, r, rule, outcome, message, "{}")

        n_results = _copy(
            cursor,
            "check_results",
            ("id", "run_id", "rule", "outcome", "message", "evidence"),
            results(),
        )
        timings["check_results_s"] = time.perf_counter() - t0
        timings["check_runs"] = len(runs)
        timings["check_results"] = n_results
        for table in ("organisations", "dossiers", "people", "check_runs", "check_results"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
        raw.commit()
    finally:
        raw.close()
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    timings["analyze_s"] = time.perf_counter() - t0
    return timings


def measure(client: Any, url: str, repeat: int) -> dict[str, float]:
    client.get(url)  # warm-up (template compilation, plan caches)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return {"median_ms": round(statistics.median(samples), 1), "p95_ms": round(p95, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("RA_BENCH_DATABASE_URL"))
    parser.add_argument("--keep", action="store_true", help="reuse the filled database")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("RA_BENCH_DATABASE_URL (PostgreSQL) is needed: scripts/services.sh start")

    import sqlalchemy as sa
    from flask_migrate import upgrade

    import ra_workbench.review.models as review_models
    from ra_workbench.accounts.service import create_user
    from ra_workbench.app import ROOT, create_app
    from ra_workbench.config import Settings
    from ra_workbench.db import Base, utcnow
    from ra_workbench.extensions import db

    data_dir = Path(tempfile.mkdtemp(prefix="ra-bench-queue-"))
    settings = Settings.from_env(
        {
            "RA_WORKBENCH_DATA": str(data_dir),
            "DATABASE_URL": args.database_url,
            "RA_WORKBENCH_SECRET_KEY": "bench-secret",
        }
    )
    app = create_app(settings, TESTING=True, WTF_CSRF_ENABLED=False)
    now = utcnow()
    report: dict[str, Any] = {
        "dossiers": args.count,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    with app.app_context():
        engine = db.engine
        filled = False
        if args.keep:
            with engine.connect() as conn:
                has = conn.execute(sa.text("SELECT to_regclass('dossiers')")).scalar()
                filled = bool(has) and (
                    conn.execute(sa.text("SELECT count(*) FROM dossiers")).scalar() == args.count
                )
        if not filled:
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            upgrade(directory=str(ROOT / "migrations"))
            t0 = time.perf_counter()
            report["fill"] = fill(engine, args.count, args.seed, now)
            report["fill"]["total_s"] = round(time.perf_counter() - t0, 1)
            print(f"filled in {report['fill']['total_s']} s: {report['fill']}")
            with app.app_context():
                create_user(
                    db.session,
                    email="bench@certeurope.test",
                    password=BENCH_PASSWORD,
                    role="operator",
                    actor="bench",
                )
                db.session.commit()

        # The queue's indexes, whether or not the migration already carries them.
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(review_models.CREATE_TRIGRAM_EXTENSION)
        for table in Base.metadata.tables.values():
            for index in table.indexes:
                if index.name in QUEUE_INDEXES:
                    index.create(engine, checkfirst=True)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
        report["indexes_s"] = round(time.perf_counter() - t0, 1)

        client = app.test_client()
        response = client.post(
            "/connexion", data={"email": "bench@certeurope.test", "password": BENCH_PASSWORD}
        )
        assert response.status_code == 302, "bench login failed"
        sample = db.session.execute(
            sa.text(
                "SELECT d.order_number, o.siren, o.name, p.last_name FROM dossiers d "
                "JOIN organisations o ON o.id = d.organisation_id "
                "JOIN people p ON p.dossier_id = d.id AND p.role = 'holder' "
                "WHERE d.id = :id"
            ),
            {"id": args.count // 2},
        ).one()
        org_word = sample.name.split()[1]
        cases = {
            "queue: ready tab (default page)": "/validation/",
            "queue: incomplete tab": "/validation/?onglet=incomplete",
            "queue: decided tab, newest first": "/validation/?onglet=decided&tri=recents",
            "queue: ready, pickup + transfer": "/validation/?livraison=pickup&paiement=transfer",
            "queue: failing rule kbis.age": "/validation/?onglet=incomplete&regle=kbis.age",
            "queue: age over 30 days": "/validation/?age_min=30",
            "queue: page 40": "/validation/?page=40",
            "search: order number": f"/validation/?q={sample.order_number}",
            "search: SIREN": f"/validation/?q={sample.siren}",
            "search: organisation name": f"/validation/?q={org_word}%20{args.count // 2}",
            "search: person surname": f"/validation/?q={sample.last_name.lower()}",
            "queue API (JSON)": "/validation/api/file?onglet=incomplete",
        }
        report["results"] = {}
        print(f"\n{'case':<40} {'median':>8} {'p95':>8}")
        for name, url in cases.items():
            figures = measure(client, url, args.repeat)
            report["results"][name] = figures
            print(f"{name:<40} {figures['median_ms']:>6} ms {figures['p95_ms']:>6} ms")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
