"""Benchmark of document extraction: our MRZ reader against PassportEye, and the Kbis reader.

Generates identity images with the synthetic generator (three French formats × five
degradation levels), then runs each engine in its own subprocess pinned to one core, on the
same files in the same run, and prints side by side: exact-MRZ rate, field accuracy, median
and p95 seconds per image, peak memory (each worker's own ru_maxrss), overall and per
degradation. Then the Kbis section from scripts/bench_extract_kbis.py.

    .venv/bin/python scripts/bench_extract.py            # 300 images
    .venv/bin/python scripts/bench_extract.py --quick    # 30 images, a smoke run
    .venv/bin/python scripts/bench_extract.py --n 600 --seed 7 --json bench.json
    .venv/bin/python scripts/bench_extract.py --skip-kbis   # identity documents only
    .venv/bin/python scripts/bench_extract.py --n 0 --real-world 4 --skip-kbis
        # only the real-world degradations (glare, hologram, lamination, re-compression,
        # phone blur), 4 images per format and degradation, its own table
    .venv/bin/python scripts/bench_extract.py --engines ours   # our column only
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

TODAY = date(2026, 1, 15)
FIELDS = ("surname", "given_names", "document_number", "birth_date", "expiry_date", "sex")
ENGINES = ("ours", "passporteye")
PER_IMAGE_TIMEOUT_S = 60


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})


# ---------------------------------------------------------------------------- corpus


def generate(
    directory: Path, n: int, seed: int, degradations: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """`n` images in all, as many per format and degradation (DEGRADATIONS by default)."""
    from ra_workbench.extraction.mrz import codec
    from ra_workbench.synth.identity import (
        DEGRADATIONS,
        KINDS,
        make_identity_document,
        random_person,
        render_identity_side,
    )

    degradations = degradations or DEGRADATIONS
    rng = random.Random(seed)
    cases = []
    per_cell = max(1, round(n / (len(KINDS) * len(degradations))))
    for kind in KINDS:
        for degradation in degradations:
            for k in range(per_cell):
                person = random_person(rng)
                if kind == "cni1988":
                    issue = date(2004, 1, 1) + timedelta(days=rng.randrange(0, 365 * 17))
                else:
                    issue = date(2017, 1, 1) + timedelta(days=rng.randrange(0, 365 * 8))
                doc = make_identity_document(person, kind, issue_date=issue, rng=rng)
                data = render_identity_side(doc, doc.mrz_side, rng=rng, degradation=degradation)
                path = directory / f"{kind}-{degradation}-{k:03d}.jpg"
                path.write_bytes(data)
                facts = codec.parse_mrz(doc.mrz_lines, today=TODAY)
                cases.append(
                    {
                        "path": str(path),
                        "kind": kind,
                        "degradation": degradation,
                        "lines": list(doc.mrz_lines),
                        "truth": {
                            "surname": facts.surname,
                            "given_names": " ".join(facts.given_names),
                            "document_number": facts.document_number,
                            "birth_date": facts.birth_date.isoformat() if facts.birth_date else "",
                            "expiry_date": facts.expiry_date.isoformat()
                            if facts.expiry_date
                            else "",
                            "sex": facts.sex,
                        },
                    }
                )
    return cases


# ---------------------------------------------------------------------------- workers


def _ours(path: str) -> dict[str, Any]:
    from ra_workbench.extraction.media import MediaError
    from ra_workbench.extraction.mrz import read_identity

    try:
        reading = read_identity(Path(path).read_bytes(), today=TODAY)
    except MediaError as exc:
        return {"error": str(exc)}
    if reading is None:
        return {}
    j = reading.to_json()
    return {
        "lines": j["lines"],
        "surname": j["surname"],
        "given_names": " ".join(j["given_names"]),
        "document_number": j["document_number"],
        "birth_date": j["birth_date"] or "",
        "expiry_date": j["expiry_date"] or "",
        "sex": j["sex"],
    }


def _yymmdd_to_iso(text: str, birth: bool) -> str:
    from ra_workbench.extraction.mrz import codec

    read = codec.birth_date_from_mrz if birth else codec.expiry_date_from_mrz
    value = read(text, TODAY)
    return value.isoformat() if value else ""


def _passporteye(path: str) -> dict[str, Any]:
    import warnings

    from passporteye import read_mrz

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # skimage deprecations, once per image
        mrz = read_mrz(path)
    if mrz is None:
        return {}
    d = mrz.to_dict()
    raw = [line for line in str(d.get("raw_text", "")).split("\n") if line]
    return {
        "lines": raw,
        "surname": " ".join(str(d.get("surname", "")).replace("<", " ").split()),
        "given_names": " ".join(str(d.get("names", "")).replace("<", " ").split()),
        "document_number": str(d.get("number", "")).replace("<", ""),
        "birth_date": _yymmdd_to_iso(str(d.get("date_of_birth", "")), birth=True),
        "expiry_date": _yymmdd_to_iso(str(d.get("expiration_date", "")), birth=False),
        "sex": str(d.get("sex", "")).replace("<", "X"),
    }


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (tesseract runs as one): what
    an image costs on one core, whatever else the machine is running at the same time."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def worker(engine: str, cases_file: Path, out_file: Path) -> None:
    _pin_to_one_core()
    cases = json.loads(cases_file.read_text())
    read = _ours if engine == "ours" else _passporteye
    if engine == "ours":  # the model is loaded once per process: not per image
        from ra_workbench.extraction.mrz.glyphs import glyph_model

        glyph_model()
    results = []
    for case in cases:
        started = time.perf_counter()
        cpu_started = _cpu_seconds()
        try:
            got = read(case["path"])
        except Exception as exc:
            got = {"error": f"{type(exc).__name__}"}
        got["seconds"] = time.perf_counter() - started
        got["cpu_seconds"] = _cpu_seconds() - cpu_started
        results.append(got)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out_file.write_text(json.dumps({"results": results, "peak_mib": peak_kib / 1024}))


def run_engine(engine: str, cases_file: Path, workdir: Path) -> dict[str, Any]:
    out = workdir / f"{engine}.json"
    timeout = PER_IMAGE_TIMEOUT_S * len(json.loads(cases_file.read_text())) + 120
    subprocess.run(
        [sys.executable, __file__, "--worker", engine, str(cases_file), str(out)],
        check=True,
        timeout=timeout,
    )
    return dict(json.loads(out.read_text()))


# ---------------------------------------------------------------------------- scoring


def score(cases: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    exact = sum(r.get("lines") == c["lines"] for c, r in zip(cases, results, strict=True))
    right = dict.fromkeys(FIELDS, 0)
    for case, got in zip(cases, results, strict=True):
        for f in FIELDS:
            right[f] += got.get(f) == case["truth"][f]
    seconds = sorted(r["seconds"] for r in results)
    cpu = sorted(r.get("cpu_seconds", 0.0) for r in results)
    n = len(cases)
    return {
        "images": n,
        "exact_mrz": exact / n,
        "field_accuracy": sum(right.values()) / (n * len(FIELDS)),
        "fields": {f: right[f] / n for f in FIELDS},
        "median_s": statistics.median(seconds),
        "p95_s": seconds[min(n - 1, int(0.95 * n))],
        "median_cpu_s": statistics.median(cpu),
        "p95_cpu_s": cpu[min(n - 1, int(0.95 * n))],
    }


def _table(title: str, rows: list[tuple[str, str, str]]) -> None:
    print(f"\n{title}")
    print(f"{'':32} {'RA Workbench':>14} {'PassportEye':>14}")
    for label, a, b in rows:
        print(f"{label:32} {a:>14} {b:>14}")


def _not_run(n: int) -> dict[str, Any]:
    """The figures of an engine left out of the run (--engines): printed as dashes."""
    return {"results": [{"seconds": 0.0} for _ in range(n)], "peak_mib": 0.0, "skipped": True}


def report(
    cases: list[dict[str, Any]], runs: dict[str, dict[str, Any]], title: str = ""
) -> dict[str, Any]:
    summary: dict[str, Any] = {"overall": {}, "by_degradation": {}, "by_kind": {}}
    runs = {e: runs.get(e) or _not_run(len(cases)) for e in ENGINES}
    for engine in ENGINES:
        summary["overall"][engine] = score(cases, runs[engine]["results"])
        summary["overall"][engine]["peak_mib"] = runs[engine]["peak_mib"]
        summary["overall"][engine]["skipped"] = bool(runs[engine].get("skipped"))
    ours, pe = summary["overall"]["ours"], summary["overall"]["passporteye"]
    rows = [
        ("images", str(ours["images"]), str(pe["images"])),
        ("exact MRZ", f"{ours['exact_mrz']:.1%}", f"{pe['exact_mrz']:.1%}"),
        ("field accuracy", f"{ours['field_accuracy']:.2%}", f"{pe['field_accuracy']:.2%}"),
    ]
    rows += [(f"  {f}", f"{ours['fields'][f]:.1%}", f"{pe['fields'][f]:.1%}") for f in FIELDS]
    rows += [
        ("median s/image (1 core)", f"{ours['median_s']:.3f}", f"{pe['median_s']:.3f}"),
        ("p95 s/image", f"{ours['p95_s']:.3f}", f"{pe['p95_s']:.3f}"),
        ("median CPU s/image", f"{ours['median_cpu_s']:.3f}", f"{pe['median_cpu_s']:.3f}"),
        ("p95 CPU s/image", f"{ours['p95_cpu_s']:.3f}", f"{pe['p95_cpu_s']:.3f}"),
        ("peak memory (MiB, worker)", f"{ours['peak_mib']:.0f}", f"{pe['peak_mib']:.0f}"),
    ]
    skipped = {e for e in ENGINES if runs[e].get("skipped")}
    if skipped:  # an engine left out: dashes, not zeros
        rows = [(r[0], *("—" if e in skipped else v for e, v in zip(ENGINES, r[1:], strict=True)))
                for r in rows]  # fmt: skip
    _table(f"Identity documents (MRZ){title}", rows)
    for key, group in (("degradation", "by_degradation"), ("kind", "by_kind")):
        rows = []
        for value in dict.fromkeys(c[key] for c in cases):
            idx = [i for i, c in enumerate(cases) if c[key] == value]
            sub = [cases[i] for i in idx]
            scores = {e: score(sub, [runs[e]["results"][i] for i in idx]) for e in ENGINES}
            summary[group][value] = scores
            cells = [
                "—"
                if e in skipped
                else f"{v['exact_mrz']:.0%} {v['field_accuracy']:.1%} {v['median_s']:.2f}"
                for e, v in ((e, scores[e]) for e in ENGINES)
            ]
            rows.append((f"{value} exact / fields / med s", cells[0], cells[1]))
        _table(f"By {key}{title}", rows)
    return summary


def _part(runs: dict[str, dict[str, Any]], start: int, end: int) -> dict[str, dict[str, Any]]:
    return {e: {**run, "results": run["results"][start:end]} for e, run in runs.items()}


def kbis_section(seed: int, quick: bool) -> list[tuple[str, str]]:
    from bench_extract_kbis import run_kbis_benchmark  # written by the Kbis engineer

    rows = run_kbis_benchmark(seed=seed, n_text=5 if quick else 20, n_scan=2 if quick else 5)
    print("\nKbis extracts")
    for label, value in rows:
        print(f"{label:40} {value}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="identity images (default 300)")
    parser.add_argument("--seed", type=int, default=20260115)
    parser.add_argument("--quick", action="store_true", help="30 images, smaller Kbis run")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument(
        "--real-world",
        type=int,
        default=0,
        metavar="K",
        help="also K images per format of each real-world degradation "
        "(glare, hologram, lamination, recompressed, phone_blur), own table",
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="comma-separated engines to run (default: ours,passporteye)",
    )
    parser.add_argument("--skip-kbis", action="store_true",
                        help="identity documents only (no Kbis section)")  # fmt: skip
    parser.add_argument("--worker", nargs=3, metavar=("ENGINE", "CASES", "OUT"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args(argv)
    if args.worker:
        engine, cases_file, out = args.worker
        worker(engine, Path(cases_file), Path(out))
        return 0

    _pin_to_one_core()
    n = 30 if args.quick else args.n
    with tempfile.TemporaryDirectory(prefix="ra-bench-extract-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        from ra_workbench.synth.identity import KINDS, REAL_WORLD_DEGRADATIONS

        cases = generate(workdir, n, args.seed) if n > 0 else []
        real_world: list[dict[str, Any]] = []
        if args.real_world > 0:
            real_dir = workdir / "real-world"
            real_dir.mkdir()
            count = args.real_world * len(KINDS) * len(REAL_WORLD_DEGRADATIONS)
            real_world = generate(real_dir, count, args.seed + 1, REAL_WORLD_DEGRADATIONS)
        print(f"{len(cases) + len(real_world)} images generated in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        cases_file = workdir / "cases.json"
        cases_file.write_text(json.dumps(cases + real_world))
        engines = [e for e in args.engines.split(",") if e in ENGINES]
        # Load the shipped glyph model outside the timed worker (read once per process).
        from ra_workbench.extraction.mrz.glyphs import glyph_model

        glyph_model()
        load_before = os.getloadavg()
        runs = {engine: run_engine(engine, cases_file, workdir) for engine in engines}
        summary = report(cases, _part(runs, 0, len(cases))) if cases else {}
        if real_world:
            part = _part(runs, len(cases), len(cases) + len(real_world))
            summary["real_world"] = report(real_world, part, " — real-world degradations")
        # Wall-clock times mean something only on an idle machine: say how busy it was.
        load_after = os.getloadavg()
        print(f"\nload average (1 min) before/after the runs: {load_before[0]:.2f} / "
              f"{load_after[0]:.2f} on {os.cpu_count()} cores")  # fmt: skip
        summary["load_average"] = [load_before[0], load_after[0]]
    if args.json:  # identity figures first: they stand even if the Kbis section fails
        args.json.write_text(json.dumps(summary, indent=2))
    if args.skip_kbis:
        print("\nKbis extracts: skipped (--skip-kbis)")
        return 0
    summary["kbis"] = kbis_section(args.seed, args.quick)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
