"""Benchmark the registry-extract reader on generated extracts of every kind.

Generates Kbis, Extrait K, RNE attestations and SIRENE notices (one in ten Kbis with a
SIREN "en cours d'attribution"), as text-layer PDFs and as scans (image-only PDFs and
JPEG files), reads each with `read_kbis` and compares with what was printed: the date,
the SIREN, the name and every manager (role, surname, given names). Prints the timings
(text layer in ms, scans in s per page) and the correctness counts.

    .venv/bin/python scripts/bench_extract_kbis.py --seed 7 --text 200 --scan 12

`run_kbis_benchmark` returns the same figures as (label, value) rows for
scripts/bench_extract.py.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ra_workbench.extraction.kbis import KbisReading, read_kbis
from ra_workbench.extraction.kbis.normalize import fold, squeeze
from ra_workbench.synth.kbis import (
    KINDS,
    CompanyFacts,
    printed_managers,
    random_company,
    render_kbis_image,
    render_kbis_pdf,
)

TARGET_TEXT_MS = 50.0
TARGET_SCAN_S_PER_PAGE = 4.0


@dataclass
class Outcome:
    seconds: float
    pages: int
    wrong: tuple[str, ...]  # fields read wrong: date, siren, name, managers, kind
    detail: str = ""  # for --verbose: what was expected and what was read, when wrong


def _person_key(role: str, surname: str, given: str) -> tuple[str, str, str]:
    return (fold(role), squeeze(fold(surname)), squeeze(fold(given.replace(",", " "))))


def compare(facts: CompanyFacts, reading: KbisReading) -> tuple[str, ...]:
    """The fields of `reading` that disagree with what was printed."""
    wrong = []
    if reading.kind != facts.kind:
        wrong.append("kind")
    if reading.date != facts.updated_on:
        wrong.append("date")
    if facts.siren:
        if reading.siren != facts.siren:
            wrong.append("siren")
    elif reading.siren is not None or not reading.siren_pending:
        wrong.append("siren")
    if squeeze(reading.name or "") != facts.name:
        wrong.append("name")
    expected = sorted(
        _person_key(m.role, m.surname, m.given_names) for m in printed_managers(facts)
    )
    read = sorted(_person_key(m.role, m.surname, " ".join(m.given_names)) for m in reading.managers)
    if expected != read:
        wrong.append("managers")
    return tuple(wrong)


def _companies(rng: random.Random, count: int) -> list[CompanyFacts]:
    companies = []
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        updated = date(2024, 1, 1) + timedelta(days=rng.randrange(0, 900))
        facts = random_company(rng, updated_on=updated, kind=kind)
        if kind == "kbis" and index % 10 == 0:
            facts = replace(facts, siren="")
        companies.append(facts)
    return companies


def _read(data: bytes, facts: CompanyFacts) -> Outcome:
    started = time.perf_counter()
    reading = read_kbis(data)
    elapsed = time.perf_counter() - started
    wrong = compare(facts, reading)
    detail = f"expected {facts}\n  read {reading.to_json()}" if wrong else ""
    return Outcome(elapsed, reading.pages if reading.source == "ocr" else 1, wrong, detail)


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_kbis_benchmark(
    seed: int, n_text: int, n_scan: int, *, verbose: bool = False
) -> list[tuple[str, str]]:
    """(label, value) rows: timings and correctness on generated extracts."""
    rng = random.Random(seed)
    read_kbis(render_kbis_pdf(random_company(rng, updated_on=date(2025, 1, 1)), rng=rng))  # warm
    text_outcomes = [
        _read(render_kbis_pdf(facts, rng=rng), facts) for facts in _companies(rng, n_text)
    ]
    scan_outcomes: list[Outcome] = []
    for index, facts in enumerate(_companies(rng, n_scan)):
        # A JPEG holds the first page only: keep it for extracts whose managers fit there.
        if index % 3 == 2 and len(printed_managers(facts)) <= 2:
            data = render_kbis_image(facts, rng=rng, fmt="JPEG")
        else:
            data = render_kbis_pdf(facts, rng=rng, scanned=True)
        scan_outcomes.append(_read(data, facts))

    if verbose:
        for outcome in text_outcomes + scan_outcomes:
            if outcome.wrong:
                print(f"wrong {', '.join(outcome.wrong)}: {outcome.detail}", file=sys.stderr)
    rows: list[tuple[str, str]] = []
    text_ms = [o.seconds * 1000 for o in text_outcomes]
    scan_s = [o.seconds / max(o.pages, 1) for o in scan_outcomes]
    rows.append(("Kbis text layer: extracts read", str(len(text_outcomes))))
    rows.append(("Kbis text layer: median ms", f"{statistics.median(text_ms):.1f}"))
    rows.append(
        (
            f"Kbis text layer: p95 ms (target <= {TARGET_TEXT_MS:.0f})",
            f"{_quantile(text_ms, 0.95):.1f}",
        )
    )
    rows.append(("Kbis scanned: extracts read (PDF scans and JPEG)", str(len(scan_outcomes))))
    if scan_s:
        rows.append(("Kbis scanned: median s per page", f"{statistics.median(scan_s):.2f}"))
        rows.append(
            (
                f"Kbis scanned: p95 s per page (target <= {TARGET_SCAN_S_PER_PAGE:.0f})",
                f"{_quantile(scan_s, 0.95):.2f}",
            )
        )
    for label, outcomes in (("text layer", text_outcomes), ("scanned", scan_outcomes)):
        wrong = Counter(field for o in outcomes for field in o.wrong)
        total = len(outcomes)
        for field in ("kind", "date", "siren", "name", "managers"):
            rows.append((f"Kbis {label}: {field} right", f"{total - wrong[field]}/{total}"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--text", type=int, default=200, help="text-layer PDFs to read")
    parser.add_argument("--scan", type=int, default=12, help="scans to OCR (~3 s each)")
    parser.add_argument("--verbose", action="store_true", help="show what was read wrong")
    args = parser.parse_args(argv)
    rows = run_kbis_benchmark(args.seed, args.text, args.scan, verbose=args.verbose)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    all_right = all(
        value.split("/")[0] == value.split("/")[1] for label, value in rows if " right" in label
    )
    return 0 if all_right else 1


if __name__ == "__main__":
    raise SystemExit(main())
