"""Reading registry extracts: Extrait Kbis, Extrait K, attestation RNE, avis SIRENE.

`read_kbis(data)` takes the bytes of an uploaded file (PDF with or without a text layer,
JPEG, PNG), gets its text (text layer, else French OCR) and returns a `KbisReading`: the
kind of document, its "à jour au" date, the SIREN, the greffe, the name, legal form and
registered office, and every manager with role and name. Bad input raises `MediaError`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ra_workbench.extraction.kbis.parser import ManagerReading, ParsedExtract, parse_extract
from ra_workbench.extraction.kbis.text import DocumentText, document_text
from ra_workbench.extraction.media import MediaError

__all__ = [
    "KBIS_VERSION",
    "KbisReading",
    "ManagerReading",
    "MediaError",
    "kbis_from_text",
    "read_kbis",
]

log = logging.getLogger(__name__)

# Bump when what read_kbis returns for the same bytes changes.
KBIS_VERSION = "kbis-1"


@dataclass
class KbisReading:
    kind: str
    date: date | None
    date_written: str | None
    siren: str | None
    siren_valid: bool | None
    siren_pending: bool
    rcs_number: str | None
    greffe: str | None
    name: str | None
    legal_form: str | None
    address: str | None
    managers: tuple[ManagerReading, ...]
    source: str  # text_layer | ocr
    pages: int
    flags: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_parsed(
        cls, parsed: ParsedExtract, *, source: str, pages: int, timings: dict[str, float]
    ) -> KbisReading:
        return cls(
            kind=parsed.kind,
            date=parsed.date,
            date_written=parsed.date_written,
            siren=parsed.siren,
            siren_valid=parsed.siren_valid,
            siren_pending=parsed.siren_pending,
            rcs_number=parsed.rcs_number,
            greffe=parsed.greffe,
            name=parsed.name,
            legal_form=parsed.legal_form,
            address=parsed.address,
            managers=tuple(parsed.managers),
            source=source,
            pages=pages,
            flags=tuple(parsed.flags),
            timings=timings,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "date": self.date.isoformat() if self.date else None,
            "date_written": self.date_written,
            "siren": self.siren,
            "siren_valid": self.siren_valid,
            "siren_pending": self.siren_pending,
            "rcs_number": self.rcs_number,
            "greffe": self.greffe,
            "name": self.name,
            "legal_form": self.legal_form,
            "address": self.address,
            "managers": [m.to_json() for m in self.managers],
            "source": self.source,
            "pages": self.pages,
            "flags": list(self.flags),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "extractor_version": KBIS_VERSION,
        }


def read_kbis(data: bytes) -> KbisReading:
    """The facts of a registry extract. Raises MediaError for files that cannot be read
    (empty, corrupt, encrypted, too many pages, not a PDF or image, OCR timeout)."""
    return kbis_from_text(document_text(data))


def kbis_from_text(text: DocumentText) -> KbisReading:
    """`read_kbis` for a file whose text was already read."""
    parse_started = time.perf_counter()
    parsed = parse_extract(text.text)
    timings = dict(text.timings)
    timings["parse"] = time.perf_counter() - parse_started
    timings["total"] = sum(timings.values())
    log.debug(
        "extrait %s lu (%s, %d page(s), %.3f s)",
        parsed.kind,
        text.source,
        text.pages,
        timings["total"],
    )
    return KbisReading.from_parsed(parsed, source=text.source, pages=text.pages, timings=timings)
