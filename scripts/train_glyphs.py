"""Regenerate the OCR-B glyph model that ships in ra_workbench/extraction/mrz/ocrb_glyphs.npz.

    .venv/bin/python scripts/train_glyphs.py             # rewrite the package's file
    .venv/bin/python scripts/train_glyphs.py --out m.npz # write elsewhere (experiments)
    .venv/bin/python scripts/train_glyphs.py --check     # retrain, compare with the shipped file

Needs scikit-learn (the `train` extra, part of requirements/dev.txt) and Debian's
fonts-ocr-b; about 2 minutes on one core. Training is deterministic for given versions of
scikit-learn, numpy, OpenCV and FreeType, and the file is written byte for byte the same for
the same weights. After rewriting the package's file, set `MODEL_SHA256` in
ra_workbench/extraction/mrz/glyphs.py to the sha256 printed (tests/extraction checks it): the
extractor version follows it, so readings cached with the previous model are redone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ra_workbench.extraction.mrz import glyphs  # noqa: E402 - after the path set-up


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=glyphs.MODEL_FILE)
    parser.add_argument(
        "--check",
        action="store_true",
        help="retrain, compare with the shipped model, write nothing",
    )
    parser.add_argument("--lines", type=int, default=glyphs.TRAIN_LINES)
    parser.add_argument("--seed", type=int, default=glyphs.TRAIN_SEED)
    parser.add_argument("--hidden", type=int, default=glyphs.HIDDEN_UNITS)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    model = glyphs.train_glyph_model(lines=args.lines, seed=args.seed, hidden=args.hidden)
    print(f"trained in {time.perf_counter() - started:.0f} s")
    if args.check:
        shipped = glyphs.load_model(glyphs.MODEL_FILE)
        with tempfile.TemporaryDirectory() as tmp:
            sha256 = glyphs.save_model(model, Path(tmp) / "model.npz")
        same = sha256 == glyphs.MODEL_SHA256
        gap = max(
            float(np.abs(getattr(model, name) - getattr(shipped, name)).max())
            for name in ("w1", "b1", "w2", "b2", "mean")
        )
        print(f"retrained sha256 {sha256}")
        print(f"shipped   sha256 {glyphs.MODEL_SHA256}")
        print("identical" if same else f"different (largest weight difference {gap:.3g})")
        return 0 if same else 1
    sha256 = glyphs.save_model(model, args.out)
    print(f"wrote {args.out}\nsha256 {sha256}")
    if args.out.resolve() == glyphs.MODEL_FILE.resolve() and sha256 != glyphs.MODEL_SHA256:
        print(f'now set MODEL_SHA256 = "{sha256}" in ra_workbench/extraction/mrz/glyphs.py')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
