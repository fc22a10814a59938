"""Benchmark: re-evaluate N pending dossiers (default 1,000) with cached extraction.

Seeds N dossiers (portal example shape: Kbis, holder and legal representative identity
recto/verso, half of them signed) and their extraction cache once, then times
`evaluate_dossier` per dossier, each in its own unit of work as `check --all-pending`
runs it (facts, 24 rules, run + results + verdict + audit entry, commit). The extractor
is disarmed during the timing: a cache miss would abort the benchmark.

    .venv/bin/python scripts/bench_checks.py [--dossiers 1000] [--database-url URL]

Without --database-url it measures SQLite, then PostgreSQL too when RA_BENCH_DATABASE_URL
is set (source <(bash scripts/services.sh start)), and prints both columns.
The PostgreSQL database's public schema is dropped and rebuilt: use a bench database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import string
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TODAY = dt.date(2026, 11, 20)
TARGET_MS = 20.0


def _letters(n: int) -> str:
    """0 → A, 25 → Z, 26 → BA: distinct alphabetic name suffixes."""
    out = ""
    while True:
        n, r = divmod(n, 26)
        out = string.ascii_uppercase[r] + out
        if n == 0:
            return out


def _mrz(surname: str, given: str, birth: str, number: str, code: str = "ID") -> dict[str, Any]:
    return {
        "format": "TD1" if code == "ID" else "TD3",
        "document_code": code,
        "issuing_state": "FRA",
        # Each person's own (identity.reuse fails on another person's number).
        "document_number": number,
        "surname": surname,
        "given_names": given,
        "nationality": "FRA",
        "birth_date": birth,
        "sex": "F",
        "expiry_date": "2031-03-01",
        "expiry_derived": False,
        "checks": {"document_number": True, "birth_date": True, "expiry_date": True},
        "valid": True,
        "lines": [],
        "confidence": 0.97,
    }


def _extraction(kind: str, **read: Any) -> dict[str, Any]:
    return {
        "file": None,
        "type": kind,
        "media_type": "application/pdf" if kind == "kbis" else "image/jpeg",
        "pages": 1,
        "mrz": read.get("mrz"),
        "kbis": read.get("kbis"),
        "mandate": None,
        "error": None,
        "seconds": 0.2,
    }


def seed(count: int) -> list[int]:
    """N pending dossiers and their extraction cache, committed. Returns their ids."""
    import hashlib

    from ra_workbench.documents.extraction_service import extractor_version
    from ra_workbench.documents.models import Document, Extraction
    from ra_workbench.dossiers.models import Dossier, Organisation, Person, SignatureEvent
    from ra_workbench.extensions import db

    version = extractor_version()
    session = db.session
    address = {"line1": "12 RUE DES LILAS", "postcode": "69003", "city": "LYON", "country": "FR"}
    for i in range(count):
        suffix = _letters(i)
        holder_surname, legal_surname = f"DURAND{suffix}", f"MOREL{suffix}"
        dossier = Dossier(
            order_number=str(500000 + i),
            revision=1,
            format="portail-commande/1",
            submitted_at=dt.datetime(2026, 11, 19, 9, 0, tzinfo=dt.UTC),
            offer_code="PP-RGS2-USB",
            price_ttc=Decimal("228.00"),
            delivery_mode="shipping",
            payment_method="card",
            payment_amount_ttc=Decimal("228.00"),
            payment_transaction_id=f"PAY-{i:06d}",
            documents_valid_attested=True,
            declared={},
            organisation=Organisation(
                siren="732829320", name="ATELIERS MOREL", legal_form="SAS", address=address
            ),
            people=[
                Person(
                    role="holder",
                    civility="MME",
                    first_name="CLAIRE",
                    last_name=holder_surname,
                    email=f"claire.{i}@ateliers-morel.fr",
                    mobile="0698765432",
                    address=address,
                    activation_code_channel="sms",
                ),
                Person(
                    role="legal_representative",
                    civility="M",
                    first_name="PAUL",
                    last_name=legal_surname,
                    email=f"paul.{i}@ateliers-morel.fr",
                    mobile="+33612345678",
                    address=address,
                ),
            ],
        )
        session.add(dossier)
        session.flush()
        files = [
            (
                "kbis",
                None,
                None,
                "kbis.pdf",
                {
                    "kbis": {
                        "kind": "kbis",
                        "date": "2026-11-02",
                        "siren": "732829320",
                        "name": "ATELIERS MOREL",
                        "legal_form": "SAS",
                        "managers": [
                            {"role": "Président", "surname": legal_surname, "given_names": "PAUL"}
                        ],
                    }
                },
            ),
            ("identity", "holder", "recto", "cni-recto.jpg", {}),
            (
                "identity",
                "holder",
                "verso",
                "cni-verso.jpg",
                {"mrz": _mrz(holder_surname, "CLAIRE MARIE", "1985-04-12", f"X{i:08d}")},
            ),
            (
                "identity",
                "legal_representative",
                "recto",
                "passeport-p1.jpg",
                {"mrz": _mrz(legal_surname, "PAUL", "1970-02-03", f"{i:08d}P", code="P")},
            ),
            ("identity", "legal_representative", "verso", "passeport-p2.jpg", {}),
        ]
        for doc_type, role, side, name, read in files:
            digest = hashlib.sha256(f"{i}:{name}".encode()).hexdigest()
            person = dossier.person(role) if role else None
            session.add(
                Document(
                    dossier_id=dossier.id,
                    person_id=person.id if person else None,
                    person_role=role,
                    type=doc_type,
                    side=side,
                    original_name=name,
                    size=250_000,
                    media_type="application/pdf" if doc_type == "kbis" else "image/jpeg",
                    sha256=digest,
                    page_count=1,
                    revision=1,
                )
            )
            session.add(
                Extraction(
                    sha256=digest,
                    kind=doc_type,
                    extractor_version=version,
                    result=_extraction(doc_type, **read),
                    seconds=0.2,
                )
            )
        if i % 2 == 0:
            for signer in ("holder", "legal_representative"):
                session.add(
                    SignatureEvent(
                        dossier_id=dossier.id,
                        signer=signer,
                        status="signed",
                        identity_verification="self_id_passed",
                        evidence_id=f"GS-{i}-{signer[:4]}",
                        at=dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC),
                        payload={},
                    )
                )
        if i % 200 == 199:
            session.commit()
    session.commit()
    from ra_workbench.checks.recheck import recheck_candidates

    return recheck_candidates(session)


def _disarm_extractor() -> None:
    from ra_workbench import extraction

    def refuse(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        raise AssertionError("cache miss during the benchmark: extraction was not cached")

    extraction.extract_document = refuse  # type: ignore[attr-defined]


def measure(database_url: str | None, count: int) -> dict[str, Any]:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from ra_workbench.app import ROOT, create_app
    from ra_workbench.checks.models import CheckRun
    from ra_workbench.checks.service import evaluate_dossier
    from ra_workbench.config import Settings
    from ra_workbench.extensions import db
    from ra_workbench.unit import unit_of_work

    work = Path(tempfile.mkdtemp(prefix="ra-bench-checks-"))
    env = {"RA_WORKBENCH_DATA": str(work / "data"), "RA_WORKBENCH_SECRET_KEY": "bench"}
    if database_url:
        env["DATABASE_URL"] = database_url
    settings = Settings.from_env(env)
    app = create_app(settings)
    backend = "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite"
    with app.app_context():
        if backend == "PostgreSQL":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "migrations"))
        t0 = time.perf_counter()
        ids = seed(count)
        seed_s = time.perf_counter() - t0
        _disarm_extractor()
        # First evaluation of each dossier (as after ingestion), untimed: the benchmark is
        # the re-evaluation of dossiers that already have runs.
        for dossier_id in ids:
            with unit_of_work() as session:
                evaluate_dossier(session, dossier_id, trigger="bench", at=TODAY)
        timings: list[float] = []
        commits: list[float] = []
        verdicts: dict[str, int] = {}
        started = time.perf_counter()
        cpu_started = time.process_time()
        for dossier_id in ids:
            t = time.perf_counter()
            with unit_of_work() as session:
                run = evaluate_dossier(session, dossier_id, trigger="bench", at=TODAY)
                verdicts[run.verdict] = verdicts.get(run.verdict, 0) + 1
                evaluated = time.perf_counter()
            done = time.perf_counter()
            timings.append((done - t) * 1000)
            commits.append((done - evaluated) * 1000)
        total_s = time.perf_counter() - started
        cpu_ms = (time.process_time() - cpu_started) * 1000 / max(len(ids), 1)
        runs = db.session.scalar(sa.select(sa.func.count(CheckRun.id)))
        db.session.remove()
        db.engine.dispose()
    timings.sort()
    return {
        "backend": backend,
        "dossiers": len(ids),
        "seed_s": round(seed_s, 2),
        "median_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 2),
        "max_ms": round(timings[-1], 2),
        "commit_median_ms": round(statistics.median(commits), 2),
        # CPU of this process only (not the database server's): steadier on a busy machine.
        "cpu_ms": round(cpu_ms, 2),
        "total_s": round(total_s, 2),
        "verdicts": verdicts,
        "runs_stored": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dossiers", type=int, default=1000)
    parser.add_argument(
        "--database-url",
        default=None,
        help="measure this database only (default: SQLite, plus RA_BENCH_DATABASE_URL if set)",
    )
    parser.add_argument("--json", dest="json_out", default=None, help="write figures here")
    args = parser.parse_args()

    if args.database_url:
        urls: list[str | None] = [args.database_url]
    else:
        urls = [None]
        if os.environ.get("RA_BENCH_DATABASE_URL"):
            urls.append(os.environ["RA_BENCH_DATABASE_URL"])
    figures = [measure(url, args.dossiers) for url in urls]

    print(f"Re-evaluating {args.dossiers} pending dossiers with cached extraction")
    print(
        f"({platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPU, load average {os.getloadavg()[0]:.1f}, "
        "one unit of work per dossier)\n"
    )
    rows = [
        ("", *(f["backend"] for f in figures)),
        ("median ms / dossier", *(f"{f['median_ms']:.1f}" for f in figures)),
        ("p95 ms / dossier", *(f"{f['p95_ms']:.1f}" for f in figures)),
        ("max ms / dossier", *(f"{f['max_ms']:.1f}" for f in figures)),
        ("  of which commit, median", *(f"{f['commit_median_ms']:.1f}" for f in figures)),
        ("CPU ms / dossier (client)", *(f"{f['cpu_ms']:.1f}" for f in figures)),
        ("total s", *(f"{f['total_s']:.1f}" for f in figures)),
        ("seed s (untimed)", *(f"{f['seed_s']:.1f}" for f in figures)),
    ]
    for row in rows:
        print(f"{row[0]:<26}" + "".join(f"{cell:>12}" for cell in row[1:]))
    for f in figures:
        ok = "OK" if f["median_ms"] < TARGET_MS else "ABOVE TARGET"
        print(f"\n{f['backend']}: verdicts {f['verdicts']}, target < {TARGET_MS:g} ms: {ok}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
