"""The external readers (tesseract, poppler's pdftoppm), run within what they may cost.

A tool is bounded by the CPU time and the memory it uses (`prlimit`, from util-linux), not by
the wall clock: a hostile file is stopped by its own cost, whatever the machine is doing, and
a busy machine (other workers, a CI run beside it) neither turns an honest page into a
« délai dépassé » nor changes what a fallback reads. A wall-clock backstop, ten times the CPU
budget, remains for a tool that would block without computing.

`prlimit` rather than `preexec_fn`: the workers carry OpenCV's threads, and Python documents
`preexec_fn` as unsafe in a threaded process.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

WALL_BACKSTOP_FACTOR = 10
GIBIBYTE = 1024**3


class ToolError(Exception):
    """A tool gave no result; the message is French, for the operator."""


class ToolOverBudget(ToolError):
    """A tool used up its CPU time (or, as a last resort, its wall-clock backstop)."""


@dataclass(frozen=True)
class Budget:
    cpu_seconds: int
    memory_bytes: int = 2 * GIBIBYTE

    @property
    def wall_seconds(self) -> int:
        return self.cpu_seconds * WALL_BACKSTOP_FACTOR


def run_tool(args: list[str], budget: Budget, *, what: str) -> bytes:
    """`args`' standard output. Raises ToolOverBudget past the budget, ToolError when the
    tool fails or is missing; `what` names the step in the French message."""
    command = [
        "prlimit",
        f"--cpu={budget.cpu_seconds}:{budget.cpu_seconds + 1}",
        f"--as={budget.memory_bytes}",
        "--",
        *args,
    ]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            # Tesseract's OpenMP threads fight each other and the other workers on a small
            # machine: one thread per call is faster (parallelism comes from the job queue).
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            timeout=budget.wall_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolOverBudget(f"{what} trop longue (délai dépassé)") from exc
    except OSError as exc:
        raise ToolError(f"{what} impossible (outil absent : {args[0]})") from exc
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL, 128 + signal.SIGXCPU):
        raise ToolOverBudget(f"{what} trop longue (temps de calcul dépassé)")
    if done.returncode != 0:
        raise ToolError(f"{what} impossible (code {done.returncode})")
    return done.stdout


def tesseract_tsv(image: Image.Image, *, lang: str, config: str, budget: Budget) -> dict[str, list]:  # type: ignore[type-arg]
    """Tesseract's word boxes for `image`, column by column as pytesseract's Output.DICT gives
    them (numbers as int, `text` as str)."""
    with tempfile.TemporaryDirectory(prefix="ra-ocr-") as tmp:
        path = Path(tmp) / "page.png"
        image.save(path, format="PNG")
        out = run_tool(
            ["tesseract", str(path), "stdout", "-l", lang, *config.split(), "tsv"],
            budget,
            what="reconnaissance de texte",
        )
    return _tsv_columns(out.decode("utf-8", errors="replace"))


def tesseract_text(image: Image.Image, *, lang: str, config: str, budget: Budget) -> str:
    """Tesseract's plain text for `image`."""
    with tempfile.TemporaryDirectory(prefix="ra-ocr-") as tmp:
        path = Path(tmp) / "line.png"
        image.save(path, format="PNG")
        out = run_tool(
            ["tesseract", str(path), "stdout", "-l", lang, *config.split()],
            budget,
            what="reconnaissance de texte",
        )
    return out.decode("utf-8", errors="replace")


def _tsv_columns(tsv: str) -> dict[str, list]:  # type: ignore[type-arg]
    reader = csv.reader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    rows = [row for row in reader if row]
    if len(rows) < 2:
        return {}
    header, body = rows[0], rows[1:]
    columns: dict[str, list] = {name: [] for name in header}  # type: ignore[type-arg]
    for row in body:
        cells = row + [""] * (len(header) - len(row))
        for name, cell in zip(header, cells, strict=False):
            if name == "text":
                columns[name].append(cell)
            else:
                try:
                    columns[name].append(int(float(cell)))
                except ValueError:
                    columns[name].append(-1)
    return columns


def pdftoppm_pages(
    data: bytes, *, dpi: int, first_page: int, last_page: int, budget: Budget
) -> list[np.ndarray]:
    """Pages `first_page`..`last_page` of a PDF rendered by poppler, as RGB arrays."""
    with tempfile.TemporaryDirectory(prefix="ra-pdf-") as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(data)
        run_tool(
            [
                "pdftoppm",
                "-r",
                str(dpi),
                "-f",
                str(first_page),
                "-l",
                str(last_page),
                # No format flag: PPM, uncompressed (PNG encoding of a 300 dpi page takes ~20 s).
                str(source),
                str(Path(tmp) / "page"),
            ],
            budget,
            what="rendu du PDF",
        )
        pages = []
        for path in sorted(Path(tmp).glob("page*.ppm"), key=_page_number):
            with Image.open(path) as page:
                pages.append(np.asarray(page.convert("RGB")))
        return pages


def _page_number(path: Path) -> int:
    return int(path.stem.rsplit("-", 1)[-1])
