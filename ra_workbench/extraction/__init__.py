"""Extraction: pure functions from an uploaded file's bytes to the facts the checks use.

`extract_document(data, kind)` is the one entry point (the CLI, the cache in
`documents.extraction_service` and the benchmarks call it). It returns a JSON-ready dict:

    {"file", "type", "media_type", "pages", "mrz", "kbis", "mandate", "file_signals",
     "error", "seconds"}

`type` is identity | kbis | mandate | payment_proof | unknown: the declared kind, or when
none is given a guess (an MRZ found → identity, a registry extract recognised → kbis, a
mandate's wording or signature field → mandate). Bad input never raises: an empty,
truncated, corrupt, encrypted, oversized or mislabelled file gives `error`, a French
message for the operator, within bounded time (tesseract and poppler run with timeouts)
and bounded memory (pixel and page limits are checked before decoding). `file_signals` is
what the file's metadata says of how it was made (extraction/filesignals.py), read for any
PNG, JPEG or PDF, readable or not.

Results are cached by (sha256, kind, EXTRACTOR_VERSION): bump a reader's own version
(mrz.EXTRACTOR_VERSION, kbis.KBIS_VERSION) or ENTRY_VERSION when its output changes.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from datetime import date
from typing import TYPE_CHECKING, Any

from ra_workbench.extraction import media
from ra_workbench.extraction.filesignals import read_file_signals
from ra_workbench.extraction.kbis import KBIS_VERSION, kbis_from_text, read_kbis
from ra_workbench.extraction.kbis.normalize import fold
from ra_workbench.extraction.kbis.text import document_text, pdf_text_layer
from ra_workbench.extraction.mandate import mandate_from_text, read_mandate

if TYPE_CHECKING:
    from ra_workbench.extraction.kbis.text import DocumentText

log = logging.getLogger(__name__)

# The envelope's own version (keys, type guessing), and the mandate reader's (which has no
# version of its own: extract-2 added the pyHanko verification of its signatures), and the
# file signals' (extract-3 added them; the version column has no room for a fourth part).
ENTRY_VERSION = "extract-3"
TYPES = ("identity", "kbis", "mandate", "payment_proof", "unknown")

_MANDATE_WORDS = re.compile(r"mandat\s*de\s*certification|mandataire\s*de\s*certification")
_PAYMENT_WORDS = re.compile(r"avis\s*d'?\s*operation|ordre\s*de\s*virement|preuve\s*de\s*paiement")


def __getattr__(name: str) -> Any:
    # Computed on first use: importing the MRZ reader pulls in OpenCV, which code that only
    # needs `extraction.kbis.identifiers` (the rules) should not pay for.
    if name == "EXTRACTOR_VERSION":
        from ra_workbench.extraction.mrz import EXTRACTOR_VERSION as MRZ_VERSION  # noqa: PLC0415 - the MRZ reader pulls in OpenCV; users of extraction.kbis (the rules) must not pay for it

        version = f"{ENTRY_VERSION}+{MRZ_VERSION}+{KBIS_VERSION}"
        globals()["EXTRACTOR_VERSION"] = version
        return version
    raise AttributeError(name)


def _result(filename: str | None, declared: str | None) -> dict[str, Any]:
    return {
        "file": filename,
        "type": declared if declared in TYPES else "unknown",
        "media_type": None,
        "pages": None,
        "mrz": None,
        "kbis": None,
        "mandate": None,
        "file_signals": None,
        "error": None,
        "seconds": 0.0,
    }


def _pages(data: bytes, media_type: str) -> int:
    """Page count after the same safety checks the readers make (raises MediaError)."""

    if media_type == media.MEDIA_PDF:
        return pdf_text_layer(data, max_pages=0).pages
    if media_type in (media.MEDIA_PNG, media.MEDIA_JPEG):
        media.load_image(data)
        return 1
    if media_type == "text/html":
        raise media.MediaError("le fichier est une page HTML, pas un PDF ni une image")
    raise media.MediaError(f"format non pris en charge ({media_type})")


def _recognise(data: bytes, text: DocumentText, out: dict[str, Any]) -> bool:
    """Sets the type and reading when the text is a registry extract, a mandate or a
    payment proof."""

    kbis = kbis_from_text(text)
    if kbis.kind != "unknown":
        out["type"], out["kbis"] = "kbis", kbis.to_json()
        return True
    folded = fold(text.text)
    mandate = mandate_from_text(data, text)
    if _MANDATE_WORDS.search(folded) or mandate.has_signature_field:
        out["type"], out["mandate"] = "mandate", mandate.to_json()
        return True
    if _PAYMENT_WORDS.search(folded):
        out["type"] = "payment_proof"
        return True
    return False


def _guess(data: bytes, out: dict[str, Any], today: date | None) -> None:
    """No declared kind: the cheap reading first (a PDF's text layer), then the MRZ, then
    OCR."""
    from ra_workbench.extraction.mrz import read_identity  # noqa: PLC0415 - the MRZ reader pulls in OpenCV (see __getattr__)

    text = document_text(data, ocr=False)
    if text.source == "text_layer" and _recognise(data, text, out):
        return
    identity = read_identity(data, today=today)
    if identity is not None:
        out["type"], out["mrz"] = "identity", identity.to_json()
        return
    if text.source != "text_layer":
        _recognise(data, document_text(data), out)


def extract_document(
    data: bytes,
    kind: str | None,
    *,
    filename: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """What can be read off one uploaded file (see the module docstring). `kind` is the
    declared document type (identity, kbis, mandate, payment_proof) or None to guess."""

    started = time.perf_counter()
    out = _result(filename, kind)
    try:
        if not data:
            raise media.MediaError("fichier vide")
        out["media_type"] = media.sniff_media_type(data)
        signals = read_file_signals(data)
        out["file_signals"] = signals.to_json() if signals is not None else None
        out["pages"] = _pages(data, out["media_type"])
        if kind == "identity":
            from ra_workbench.extraction.mrz import read_identity  # noqa: PLC0415 - the MRZ reader pulls in OpenCV (see __getattr__)

            identity = read_identity(data, today=today)
            out["mrz"] = identity.to_json() if identity is not None else None
        elif kind == "kbis":
            out["kbis"] = read_kbis(data).to_json()
        elif kind == "mandate":
            out["mandate"] = read_mandate(data).to_json()
        elif kind == "payment_proof":
            pass  # checked by hand; the file only has to decode
        else:
            _guess(data, out, today)
    except media.MediaError as exc:
        out["error"] = str(exc)
        # File names carry people's names: log the content hash, never the name.
        log.info("document sha256:%s illisible : %s", hashlib.sha256(data).hexdigest()[:12], exc)
    out["seconds"] = round(time.perf_counter() - started, 4)
    return out
