"""Write synthetic portal packages (format `portail-commande/1`) for the demo, the tests and
the benchmarks, each with its expected outcome beside it (`<name>.expected.json`).

    .venv/bin/python scripts/make_dossiers.py --out DIR --count 30 [--seed S]
        [--today YYYY-MM-DD] [--defect NAME ...] [--defect-rate R] [--zip] [--broken]
        [--light] [--degradation clean|scan|photo|lowres|hard]

Without --defect, about --defect-rate of the packages carry one defect each (every defect
in turn); with --defect, every package carries the defects named. --broken also writes one
package of each kind the ingestion must refuse.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ra_workbench.synth.packages import (
    ALL_DEFECTS,
    BROKEN_KINDS,
    DEGRADATIONS,
    generate_batch,
    generate_broken_package,
    read_expected,
)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from exc


def _summary(path: Path) -> str:
    expected = read_expected(path)
    if expected.get("refused"):
        return f"{path.name:<34} refused   {expected['broken_kind']:<16} {expected['why']}"
    variant = expected["variant"]
    shape = (
        f"{variant['delivery_mode']:<8} {variant['payment_method']:<8} "
        f"{'mandataire' if variant['has_mandataire'] else '-':<10} "
        f"{'holder=LR' if variant['holder_is_legal_representative'] else 'holder':<9} "
        f"{variant['holder_kind']:<8}"
    )
    if expected["clean"]:
        verdict = "clean"
    else:
        rules = expected["expected_failing_rules"] + [
            f"{r} (manual)" for r in expected["expected_manual_rules"]
        ]
        verdict = f"{'+'.join(expected['defects'])} -> {', '.join(rules)}"
    return f"{path.name:<34} {expected['order_number']:<8} {shape} {verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--today", type=_date, default=dt.datetime.now(dt.UTC).date(), help="evaluation date"
    )
    parser.add_argument(
        "--defect",
        action="append",
        choices=sorted(ALL_DEFECTS),
        default=None,
        help="inject this defect in every package (repeatable)",
    )
    parser.add_argument("--defect-rate", type=float, default=0.3)
    parser.add_argument("--zip", action="store_true", help="write .zip packages")
    parser.add_argument(
        "--broken", action="store_true", help="also write one package of each refused kind"
    )
    parser.add_argument(
        "--light", action="store_true", help="tiny placeholder documents (benchmarks)"
    )
    parser.add_argument("--degradation", choices=DEGRADATIONS, default="scan")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be positive")
    if not 0 <= args.defect_rate <= 1:
        parser.error("--defect-rate is a fraction between 0 and 1")

    started = time.perf_counter()
    try:
        paths = generate_batch(
            args.out,
            count=args.count,
            seed=args.seed,
            today=args.today,
            defect_rate=args.defect_rate,
            zip_package=args.zip,
            degradation=args.degradation,
            light=args.light,
            defects=args.defect,
        )
    except ValueError as exc:
        parser.error(str(exc))
    for path in paths:
        print(_summary(path))
    if args.broken:
        for kind in BROKEN_KINDS:
            print(_summary(generate_broken_package(args.out, kind, seed=args.seed)))
    elapsed = time.perf_counter() - started
    total = len(paths) + (len(BROKEN_KINDS) if args.broken else 0)
    print(f"{total} packages in {args.out} ({elapsed:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
