"""Reading the machine-readable zone of identity documents.

`read_identity(data)` takes the bytes of an uploaded file (JPEG, PNG or PDF), finds the MRZ
on its first pages whatever the orientation, reads it with our OCR-B classifier, verifies
every check digit and returns an `IdentityReading` (or None when no MRZ is found). Bad input
raises `MediaError` with a French message.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ra_workbench.extraction.media import MediaError, exif_orientation, load_pages
from ra_workbench.extraction.mrz import codec, glyphs
from ra_workbench.extraction.mrz.reader import Reading, rank_of, read_page

__all__ = ["EXTRACTOR_VERSION", "IdentityReading", "MediaError", "read_identity", "read_image"]

log = logging.getLogger(__name__)

# mrz-2: segmentation by glyph walk, new repairs; then the shipped glyph model's sha256, so
# that readings cached with another model are redone. Short: extraction.EXTRACTOR_VERSION,
# which includes it, is stored in 32 characters.
EXTRACTOR_VERSION = f"mrz-2.{glyphs.MODEL_SHA256[:8]}"
PDF_DPI = 200
PDF_MAX_PAGES = 2


@dataclass
class IdentityReading:
    """One MRZ read off a file: the facts, where they were and how sure we are."""

    facts: codec.MrzFacts
    page: int
    rotation: int
    angle: float
    bbox: tuple[int, int, int, int]
    confidence: float
    corrections: list[codec.Correction]
    raw_lines: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    page_size: tuple[int, int] | None = None  # width, height of the page image read
    # The file's EXIF orientation (1 to 8): we read the stored pixels, browsers show them
    # turned as the tag says.
    exif_orientation: int = 1

    @property
    def bbox_fraction(self) -> list[float] | None:
        """The band as fractions of the page as browsers show it (x, y, width, height): the
        viewer draws it over the image at any zoom, whatever size the image is shown or was
        decoded at."""
        if not self.page_size or not all(self.page_size):
            return None
        width, height = self.page_size
        x, y, w, h = self.bbox
        left, top = max(0.0, x / width), max(0.0, y / height)
        box = (left, top, min(1.0 - left, w / width), min(1.0 - top, h / height))
        return [round(v, 4) for v in oriented(box, self.exif_orientation)]

    @property
    def format(self) -> str:
        return self.facts.format

    @property
    def valid(self) -> bool:
        return self.facts.valid

    @property
    def rank(self) -> tuple[bool, int, int, float]:
        return rank_of(self.facts, self.confidence)

    def to_json(self) -> dict[str, Any]:
        out = self.facts.to_json()
        out.update(
            {
                "raw_lines": list(self.raw_lines),
                "location": {
                    "page": self.page,
                    "side": None,  # recto/verso is known to the caller, not to the pixels
                    "rotation": self.rotation,
                    "angle": self.angle,
                    "bbox": list(self.bbox),
                    "page_size": list(self.page_size) if self.page_size else None,
                    "exif_orientation": self.exif_orientation,
                    "bbox_fraction": self.bbox_fraction,
                },
                "confidence": self.confidence,
                "corrections": [c.to_json() for c in self.corrections],
                "timings": {k: round(v, 4) for k, v in self.timings.items()},
                "extractor_version": EXTRACTOR_VERSION,
            }
        )
        return out


def oriented(
    box: tuple[float, float, float, float], orientation: int
) -> tuple[float, float, float, float]:
    """A box in fractions of the stored pixels, in fractions of the image turned and
    flipped as its EXIF orientation tag asks (as PIL's ImageOps.exif_transpose does)."""
    x, y, w, h = box
    return {
        2: (1 - x - w, y, w, h),  # mirrored left to right
        3: (1 - x - w, 1 - y - h, w, h),  # upside down
        4: (x, 1 - y - h, w, h),  # mirrored top to bottom
        5: (y, x, h, w),  # transposed
        6: (1 - y - h, x, h, w),  # turned a quarter clockwise
        7: (1 - y - h, 1 - x - w, h, w),  # transversed
        8: (y, 1 - x - w, h, w),  # turned a quarter anticlockwise
    }.get(orientation, box)


def _from_reading(reading: Reading, page: int, image: Any) -> IdentityReading:
    return IdentityReading(
        facts=reading.facts,
        page=page,
        rotation=reading.rotation,
        angle=reading.angle,
        bbox=reading.bbox,
        confidence=reading.confidence,
        corrections=reading.corrections,
        raw_lines=reading.raw_lines,
        timings=dict(reading.timings),
        page_size=(int(image.shape[1]), int(image.shape[0])),
    )


def read_image(image: Any, *, today: date | None = None, page: int = 1) -> IdentityReading | None:
    """Read the MRZ of an already decoded RGB (or gray) numpy array."""
    reading = read_page(image, today=today or date.today())  # noqa: DTZ011 - a calendar day
    return _from_reading(reading, page, image) if reading else None


def read_identity(data: bytes, *, today: date | None = None) -> IdentityReading | None:
    """The MRZ of an uploaded file, or None if it has none we can read.

    Raises MediaError for empty, truncated, oversized, encrypted or mislabelled files.
    """
    started = time.perf_counter()
    today = today or date.today()  # noqa: DTZ011 - a calendar day, no time zone involved
    if not data:
        raise MediaError("fichier vide")
    pages = load_pages(data, dpi=PDF_DPI, max_pages=PDF_MAX_PAGES)
    decoded = time.perf_counter() - started
    best: IdentityReading | None = None
    for number, image in enumerate(pages, start=1):
        reading = read_page(image, today=today)
        if reading is None:
            continue
        candidate = _from_reading(reading, number, image)
        if best is None or reading.rank > best.rank:
            best = candidate
        if best.valid and best.facts.plausible:
            break
    if best is not None:
        best.exif_orientation = exif_orientation(data)
        best.timings["decode"] = decoded
        best.timings["total"] = time.perf_counter() - started
        log.debug("MRZ %s lue (valide=%s)", best.format, best.valid)
    return best
