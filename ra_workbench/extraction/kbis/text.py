"""The text of a document: its PDF text layer when it has a usable one, else OCR.

Text layer through pypdf (one parse, the first pages only); OCR through media.py's bounded
rendering and decoding, then tesseract `-l fra` within a CPU-time budget per page. Every failure on
hostile input becomes a `MediaError` with a French message.
"""

from __future__ import annotations

import io
import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image
from pypdf import PdfReader

from ra_workbench.extraction import media, tools
from ra_workbench.extraction.media import MediaError

log = logging.getLogger(__name__)

MAX_TEXT_PAGES = 10  # registry extracts run to 2-4 pages; what matters is on the first ones
MAX_OCR_PAGES = 3
MIN_OCR_DPI = 200
OCR_DPI = 250  # scans arrive at 200-300 dpi; 250 reads 9 pt text as well as 300, 25% faster
OCR_CPU_S = 20  # CPU seconds per page; a clean A4 page takes 1-3 s
OCR_LANGUAGE = "fra"
# psm 4: one column of text lines, so a label and its value stay on one line (psm 3 splits
# them into two columns; psm 6 drops large titles). No inverted-text pass: ~10% faster.
OCR_CONFIG = "--psm 4 -c tessedit_do_invert=0"
MIN_LETTERS = 60  # fewer letters than this in the text layer: a scan with a stray text object
MAX_INPUT_BYTES = 50_000_000
# A page rendered for OCR stays under this (an A4 page at 300 dpi is 8.7 Mpx): bounds the
# memory a PDF with a 200-inch page can make us use.
OCR_MAX_PIXELS = 16_000_000


@dataclass
class DocumentText:
    media_type: str
    pages: int
    text: str
    source: str  # text_layer | ocr | none (ocr not asked for)
    timings: dict[str, float] = field(default_factory=dict)


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


@dataclass(frozen=True)
class PdfText:
    pages: int
    text: str  # of the first pages
    scan_dpi: int | None  # resolution of the first page's largest image, if it has one


def _scan_dpi(page: Any) -> int | None:
    """The resolution a scanned page was embedded at, from its image XObjects' sizes (no
    image is decoded)."""
    resources = page.get("/Resources")
    resources = resources.get_object() if resources is not None else None
    xobjects = resources.get("/XObject") if resources is not None else None
    xobjects = xobjects.get_object() if xobjects is not None else None
    if not xobjects:
        return None
    widest = 0
    for ref in list(xobjects.values())[:20]:
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Image":
            widest = max(widest, int(xobject.get("/Width") or 0))
    page_inches = abs(float(page.mediabox.width)) / 72
    return round(widest / page_inches) if widest and page_inches > 0 else None


def pdf_text_layer(data: bytes, max_pages: int = MAX_TEXT_PAGES) -> PdfText:
    """Page count, text of the first pages and scan resolution, in one pypdf parse; raises
    MediaError for an encrypted, empty, oversized or unparseable PDF."""

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise MediaError("PDF chiffré ou protégé par mot de passe")
            count = len(reader.pages)
            if count == 0:
                raise MediaError("PDF sans aucune page")
            if count > media.MAX_PDF_PAGES:
                raise MediaError(f"PDF de {count} pages (maximum {media.MAX_PDF_PAGES})")
            texts = [reader.pages[i].extract_text() or "" for i in range(min(count, max_pages))]
            text = "\n".join(texts)
            scan_dpi = (
                _scan_dpi(reader.pages[0]) if max_pages and _letters(text) < MIN_LETTERS else None
            )
    except MediaError:
        raise
    except RecursionError as exc:
        raise MediaError("PDF malformé (structure récursive)") from exc
    except Exception as exc:
        # pypdf raises many exception types on hostile files; none is ours to handle.
        raise MediaError(f"PDF illisible ou corrompu ({type(exc).__name__})") from exc
    return PdfText(count, text, scan_dpi)


@dataclass
class _Line:
    """One line as tesseract segmented it: its words (left, text) and their boxes."""

    words: list[tuple[int, str]]
    first_y: float  # vertical centre of the leftmost word
    last_y: float  # ... of the rightmost word
    left: int
    right: int
    height: float


def _tesseract_lines(data: dict[str, list]) -> list[_Line]:  # type: ignore[type-arg]
    grouped: dict[tuple[int, int, int, int], list[int]] = {}
    for i, text in enumerate(data["text"]):
        if str(text).strip() and float(data["conf"][i]) >= 0:
            key = (
                data["page_num"][i],
                data["block_num"][i],
                data["par_num"][i],
                data["line_num"][i],
            )
            grouped.setdefault(key, []).append(i)
    lines = []
    for indices in grouped.values():
        indices.sort(key=lambda i: data["left"][i])
        first, last = indices[0], indices[-1]
        lines.append(
            _Line(
                words=[(data["left"][i], str(data["text"][i]).strip()) for i in indices],
                first_y=data["top"][first] + data["height"][first] / 2,
                last_y=data["top"][last] + data["height"][last] / 2,
                left=data["left"][first],
                right=data["left"][last] + data["width"][last],
                height=float(np.median([data["height"][i] for i in indices])),
            )
        )
    return lines


def _same_row(row: list[_Line], line: _Line) -> bool:
    """`line` continues `row` on its right or precedes it on its left, at the same height
    where they meet."""
    tolerance = 0.6 * max(line.height, *(ln.height for ln in row))
    tail = max(row, key=lambda ln: ln.right)
    if line.left >= tail.right:
        return abs(line.first_y - tail.last_y) <= tolerance
    head = min(row, key=lambda ln: ln.left)
    if line.right <= head.left:
        return abs(line.last_y - head.first_y) <= tolerance
    return False


def assemble_rows(data: dict[str, list]) -> str:  # type: ignore[type-arg]
    """Tesseract's words re-assembled into the page's printed rows.

    Tesseract may read a two-column form (label | value) column by column, putting values
    before their labels. Rows are rebuilt from the word boxes instead: lines are taken top
    to bottom, and a line joins the row on its left when its first word sits at the height
    of that row's last word (compared end to end, so a slight skew does not matter)."""
    rows: list[list[_Line]] = []
    for line in sorted(_tesseract_lines(data), key=lambda ln: (ln.first_y, ln.left)):
        for row in rows[-6:]:  # only rows close above can share a baseline
            if _same_row(row, line):
                row.append(line)
                break
        else:
            rows.append([line])
    texts = []
    for row in sorted(rows, key=lambda r: min(ln.first_y for ln in r)):
        words = sorted((w for ln in row for w in ln.words), key=lambda w: w[0])
        texts.append(" ".join(text for _left, text in words))
    return "\n".join(texts)


def ocr_image(image: np.ndarray, *, cpu_seconds: int = OCR_CPU_S) -> str:
    """French OCR of one page image (RGB or grey array), one printed row per line."""
    grey = Image.fromarray(image).convert("L")
    if max(grey.size) < 1800:
        # Phone captures and low-dpi scans: tesseract reads body text best at ~30 px x-height.
        factor = 2400 / max(grey.size)
        grey = grey.resize(
            (round(grey.width * factor), round(grey.height * factor)), Image.Resampling.LANCZOS
        )
    try:
        data = tools.tesseract_tsv(
            grey, lang=OCR_LANGUAGE, config=OCR_CONFIG, budget=tools.Budget(cpu_seconds)
        )
    except tools.ToolError as exc:
        raise MediaError(str(exc)) from exc
    return assemble_rows(data)


def document_text(
    data: bytes,
    *,
    max_ocr_pages: int = MAX_OCR_PAGES,
    ocr_dpi: int = OCR_DPI,
    ocr_cpu_seconds: int = OCR_CPU_S,
    ocr: bool = True,
) -> DocumentText:
    """The text of a PDF, PNG or JPEG file: text layer first, OCR when there is none.
    With `ocr` False, a file without a usable text layer gives source "none"."""
    started = time.perf_counter()
    if not data:
        raise MediaError("fichier vide")
    if len(data) > MAX_INPUT_BYTES:
        raise MediaError(f"fichier trop volumineux ({len(data):,} octets)")
    media_type = media.sniff_media_type(data)
    timings: dict[str, float] = {}
    if media_type == media.MEDIA_PDF:
        layer = pdf_text_layer(data)
        pages, text = layer.pages, layer.text
        timings["text_layer"] = time.perf_counter() - started
        if _letters(text) >= MIN_LETTERS:
            return DocumentText(media_type, pages, text, "text_layer", timings)
        if not ocr:
            return DocumentText(media_type, pages, "", "none", timings)
        images = media.render_pdf_pages(
            data,
            # A scan is not upsampled past its own resolution: it adds time, not detail.
            dpi=min(ocr_dpi, max(MIN_OCR_DPI, layer.scan_dpi or ocr_dpi)),
            last_page=min(pages, max_ocr_pages),
            max_pixels=OCR_MAX_PIXELS,
        )
    elif media_type in (media.MEDIA_PNG, media.MEDIA_JPEG):
        pages = 1
        if not ocr:
            return DocumentText(media_type, pages, "", "none", timings)
        images = [media.load_image(data)]
    elif media_type == "text/html":
        raise MediaError("le fichier est une page HTML, pas un PDF ni une image")
    else:
        raise MediaError(f"format non pris en charge ({media_type})")
    timings["decode"] = time.perf_counter() - started - timings.get("text_layer", 0.0)
    ocr_started = time.perf_counter()
    texts = [ocr_image(image, cpu_seconds=ocr_cpu_seconds) for image in images]
    timings["ocr"] = time.perf_counter() - ocr_started
    log.debug("OCR de %d page(s) en %.2f s", len(images), timings["ocr"])
    return DocumentText(media_type, pages, "\n".join(texts), "ocr", timings)
