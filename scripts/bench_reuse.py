"""Benchmark: identity.reuse's look-ups among N stored identity images (default 100,000).

Seeds N identity documents (four per dossier) with a synthetic perceptual hash each (64
random bits) and a valid MRZ's document number, then times the look-ups the check runs for
every identity image of a dossier it evaluates (documents/fingerprints.py):
- `similar_images`: the rows sharing one of the hash's four indexed 16-bit bands, filtered
  by Hamming distance (the index look-up), against the naive scan that reads every stored
  hash and compares it (what the check would cost without the index);
- `same_document_numbers`: the indexed (number, issuing state) look-up.
Half the probes are a stored hash with 0 to 3 bits flipped, which must be found (recall is
checked, not assumed); half are new hashes.

    .venv/bin/python scripts/bench_reuse.py [--images 100000] [--database-url URL]

Without --database-url it measures SQLite, then PostgreSQL too when RA_BENCH_DATABASE_URL
is set (source <(bash scripts/services.sh start)), and prints both columns.
The PostgreSQL database's public schema is dropped and rebuilt: use a bench database.
Random hashes spread evenly over the bands; real document images do not (cards of one
model share low frequencies), so a real store holds more candidates per band than this.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PER_DOSSIER = 4
BATCH = 5_000


def _batches(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


def seed(count: int, rng: random.Random) -> tuple[list[int], int]:
    """N identity documents with their hash and MRZ number, committed (Core executemany).
    Returns the stored hashes (unsigned), in document order, and the first document's id."""
    import sqlalchemy as sa

    from ra_workbench.documents.models import Document, IdentityNumber, ImageFingerprint
    from ra_workbench.documents.phash import fingerprint_row
    from ra_workbench.dossiers.models import Dossier, Organisation
    from ra_workbench.extensions import db

    session = db.session
    organisation = Organisation(
        siren="732829320", name="ATELIERS MOREL", legal_form="SAS", address={"city": "LYON"}
    )
    session.add(organisation)
    session.flush()
    submitted = dt.datetime(2026, 11, 19, 9, 0, tzinfo=dt.UTC)
    dossiers = count // PER_DOSSIER + 1
    for batch in _batches(
        [
            {
                "order_number": str(700000 + i),
                "revision": 1,
                "format": "portail-commande/1",
                "submitted_at": submitted,
                "offer_code": "PP-RGS2-USB",
                "offer_label": "Certificat",
                "delivery_mode": "shipping",
                "payment_method": "card",
                "documents_valid_attested": True,
                "declared": {},
                "organisation_id": organisation.id,
            }
            for i in range(dossiers)
        ]
    ):
        session.execute(sa.insert(Dossier), batch)
    first_id = session.scalar(sa.select(sa.func.min(Dossier.id)))
    assert first_id is not None
    hashes = [rng.getrandbits(64) for _ in range(count)]
    digests = [hashlib.sha256(f"bench-image-{i}".encode()).hexdigest() for i in range(count)]
    documents, fingerprints, numbers = [], [], []
    for i, (digest, value) in enumerate(zip(digests, hashes, strict=True)):
        documents.append(
            {
                "dossier_id": first_id + i // PER_DOSSIER,
                "person_role": "holder",
                "type": "identity",
                "side": "recto" if i % 2 == 0 else "verso",
                "original_name": "cni.jpg",
                "size": 250_000,
                "media_type": "image/jpeg",
                "sha256": digest,
                "page_count": 1,
                "revision": 1,
            }
        )
        fingerprints.append(fingerprint_row(digest, 0, value))
        numbers.append(
            {
                "sha256": digest,
                "issuing_state": "FRA",
                "document_code": "ID",
                "document_number": f"B{i:08d}",
                "surname": f"NOM{i}",
                "given_names": "CLAIRE",
                "birth_date": dt.date(1985, 4, 12),
            }
        )
    for model, rows in (
        (Document, documents),
        (ImageFingerprint, fingerprints),
        (IdentityNumber, numbers),
    ):
        for batch in _batches(rows):
            session.execute(sa.insert(model), batch)
    session.commit()
    first_document = session.scalar(sa.select(sa.func.min(Document.id)))
    assert first_document is not None
    return hashes, first_document


def _flip(value: int, bits: int, rng: random.Random) -> int:
    for position in rng.sample(range(64), bits):
        value ^= 1 << position
    return value


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))]


def _plan(database: str) -> str:
    """How the database runs the band look-up (its index use, in one line)."""
    import sqlalchemy as sa

    from ra_workbench.extensions import db

    sql = (
        "SELECT sha256 FROM image_fingerprints WHERE band0 = 1 OR band1 = 2 "
        "OR band2 = 3 OR band3 = 4"
    )
    if database == "SQLite":
        rows = db.session.execute(sa.text("EXPLAIN QUERY PLAN " + sql)).all()
        return "; ".join(str(r[-1]) for r in rows)
    rows = db.session.execute(sa.text("EXPLAIN " + sql)).all()
    return "; ".join(str(r[0]).strip() for r in rows if "Scan" in str(r[0]) or "Or" in str(r[0]))


def measure(database_url: str | None, count: int, probes: int, scans: int) -> dict[str, Any]:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from ra_workbench.app import ROOT, create_app
    from ra_workbench.config import Settings
    from ra_workbench.documents.fingerprints import same_document_numbers, similar_images
    from ra_workbench.documents.models import ImageFingerprint
    from ra_workbench.documents.phash import hamming, to_unsigned
    from ra_workbench.extensions import db

    rng = random.Random(17)
    work = Path(tempfile.mkdtemp(prefix="ra-bench-reuse-"))
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
        stored, first_document = seed(count, rng)
        seed_s = time.perf_counter() - t0
        if backend == "PostgreSQL":
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        session = db.session
        # A stored hash with 0 to 3 bits flipped, and the document it must find.
        planted: list[tuple[int, int | None]] = [
            (_flip(stored[i], rng.randint(0, 3), rng), first_document + i)
            for i in rng.sample(range(count), probes // 2)
        ]
        fresh: list[tuple[int, int | None]] = [
            (rng.getrandbits(64), None) for _ in range(probes - len(planted))
        ]
        queries = planted + fresh
        rng.shuffle(queries)
        similar_images(session, queries[0][0], dossier_id=0)  # warm the statement cache
        indexed, found_all, candidates = [], 0, 0
        for value, expected in queries:
            t = time.perf_counter()
            matches = similar_images(session, value, dossier_id=0)
            indexed.append((time.perf_counter() - t) * 1000)
            candidates += len(matches)
            if expected is not None and any(m.other.document_id == expected for m in matches):
                found_all += 1
        naive = []
        for value, _expected in queries[:scans]:
            t = time.perf_counter()
            rows = session.execute(sa.select(ImageFingerprint.sha256, ImageFingerprint.phash))
            hits = [sha for sha, h in rows if hamming(value, to_unsigned(h)) <= 3]
            naive.append((time.perf_counter() - t) * 1000)
            assert hits is not None
        numbers = []
        for i in rng.sample(range(count), probes):
            t = time.perf_counter()
            key = ("FRA", "ID", f"B{i:08d}")
            found = same_document_numbers(session, [key], dossier_id=0)
            numbers.append((time.perf_counter() - t) * 1000)
            assert len(found[key]) == 1
        plan = _plan(backend)
        db.session.remove()
        db.engine.dispose()
    return {
        "backend": backend,
        "images": count,
        "seed_s": round(seed_s, 1),
        "indexed_median_ms": round(statistics.median(indexed), 3),
        "indexed_p95_ms": round(_percentile(indexed, 0.95), 3),
        "naive_median_ms": round(statistics.median(naive), 1),
        "naive_p95_ms": round(_percentile(naive, 0.95), 1),
        "number_median_ms": round(statistics.median(numbers), 3),
        "number_p95_ms": round(_percentile(numbers, 0.95), 3),
        "planted": len(planted),
        "planted_found": found_all,
        "matches_per_probe": round(candidates / len(queries), 2),
        "plan": plan,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=400, help="indexed look-ups timed")
    parser.add_argument("--scans", type=int, default=20, help="naive full scans timed")
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
    figures = [measure(url, args.images, args.probes, args.scans) for url in urls]

    print(f"identity.reuse look-ups among {args.images:,} stored identity images")
    print(
        f"({platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPU, load average {os.getloadavg()[0]:.1f}, "
        f"{args.probes} probes, {args.scans} naive scans)\n"
    )
    rows = [
        ("", *(f["backend"] for f in figures)),
        ("image, indexed: median ms", *(f"{f['indexed_median_ms']:.2f}" for f in figures)),
        ("image, indexed: p95 ms", *(f"{f['indexed_p95_ms']:.2f}" for f in figures)),
        ("image, naive scan: median ms", *(f"{f['naive_median_ms']:.0f}" for f in figures)),
        ("image, naive scan: p95 ms", *(f"{f['naive_p95_ms']:.0f}" for f in figures)),
        ("number, indexed: median ms", *(f"{f['number_median_ms']:.2f}" for f in figures)),
        ("number, indexed: p95 ms", *(f"{f['number_p95_ms']:.2f}" for f in figures)),
        (
            "planted hashes found",
            *(f"{f['planted_found']}/{f['planted']}" for f in figures),
        ),
        ("seed s (untimed)", *(f"{f['seed_s']:.0f}" for f in figures)),
    ]
    for row in rows:
        print(f"{row[0]:<30}" + "".join(f"{cell:>12}" for cell in row[1:]))
    for f in figures:
        print(f"\n{f['backend']} plan: {f['plan']}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
