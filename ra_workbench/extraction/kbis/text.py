"""The text of a document: its PDF text layer when it has a usable one, else OCR.

Text layer through pypdf (one parse, the first pages only); OCR through media.py's bounded
rendering and decoding, then tesseract `-l fra` with a timeout per page. Every failure on
hostile input becomes a `MediaError` with a French message.
"""

from __future__ import annotations

import io
import logging
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ra_workbench.extraction import media
from ra_workbench.extraction.media import MediaError

log = logging.getLogger(__name__)

MAX_TEXT_PAGES = 10  # registry extracts run to 2-4 pages; what matters is on the first ones
MAX_OCR_PAGES = 3
OCR_DPI = 250  # scans arrive at 200-300 dpi; 250 reads 9 pt text as well as 300, 25% faster
OCR_TIMEOUT_S = 20  # per page; a clean A4 page takes 1-3 s
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


def pdf_text_layer(data: bytes, max_pages: int = MAX_TEXT_PAGES) -> tuple[int, str]:
    """(page count, text of the first pages) in one pypdf parse; raises MediaError for an
    encrypted, empty, oversized or unparseable PDF."""
    from pypdf import PdfReader

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
    except MediaError:
        raise
    except RecursionError as exc:
        raise MediaError("PDF malformé (structure récursive)") from exc
    except Exception as exc:
        # pypdf raises many exception types on hostile files; none is ours to handle.
        raise MediaError(f"PDF illisible ou corrompu ({type(exc).__name__})") from exc
    return count, "\n".join(texts)


def ocr_image(image: np.ndarray, *, timeout_s: float = OCR_TIMEOUT_S) -> str:
    """French OCR of one page image (RGB or grey array)."""
    import pytesseract
    from PIL import Image

    # Tesseract's OpenMP threads fight each other and the other workers on a small
    # machine: one thread per call is faster (and parallelism comes from the job queue).
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")

    grey = Image.fromarray(image).convert("L")
    if max(grey.size) < 1800:
        # Phone captures and low-dpi scans: tesseract reads body text best at ~30 px x-height.
        factor = 2400 / max(grey.size)
        grey = grey.resize(
            (round(grey.width * factor), round(grey.height * factor)), Image.Resampling.LANCZOS
        )
    try:
        text: str = pytesseract.image_to_string(
            grey, lang=OCR_LANGUAGE, config=OCR_CONFIG, timeout=timeout_s
        )
    except RuntimeError as exc:  # pytesseract's timeout
        raise MediaError("reconnaissance de texte trop longue (délai dépassé)") from exc
    except pytesseract.TesseractError as exc:
        raise MediaError(f"reconnaissance de texte impossible ({exc.status})") from exc
    return text


def document_text(
    data: bytes,
    *,
    max_ocr_pages: int = MAX_OCR_PAGES,
    ocr_dpi: int = OCR_DPI,
    ocr_timeout_s: float = OCR_TIMEOUT_S,
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
        pages, text = pdf_text_layer(data)
        timings["text_layer"] = time.perf_counter() - started
        if _letters(text) >= MIN_LETTERS:
            return DocumentText(media_type, pages, text, "text_layer", timings)
        if not ocr:
            return DocumentText(media_type, pages, "", "none", timings)
        images = media.render_pdf_pages(
            data,
            dpi=ocr_dpi,
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
    texts = [ocr_image(image, timeout_s=ocr_timeout_s) for image in images]
    timings["ocr"] = time.perf_counter() - ocr_started
    log.debug("OCR de %d page(s) en %.2f s", len(images), timings["ocr"])
    return DocumentText(media_type, pages, "\n".join(texts), "ocr", timings)
