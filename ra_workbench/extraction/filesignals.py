"""What a file says about how it was made: the software named in its metadata, the
incremental updates a PDF received, an image's pixel size and declared resolution.

Pure and cheap: an image's header and metadata segments are read, never its pixels; a PDF's
document information, its XMP packet and the /Width and /Height of the images on its first
pages, never a page rendered. Bad input never raises: what cannot be read is left out and
`error` says why (French), so the readers beside it (extraction/__init__.py) decide alone
whether the file is readable. Its output is part of the extraction envelope: a change to it
bumps extraction.ENTRY_VERSION.

The checks (file.signals, checks/catalogue.py) judge these readings against rules/checks.toml;
nothing here knows an editor's or a registry's name.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

from PIL import Image
from pypdf import PdfReader

from ra_workbench.extraction import media

# EXIF tags (IFD0 and the Exif sub-IFD).
EXIF_PROCESSING_SOFTWARE = 0x000B
EXIF_MAKE = 0x010F
EXIF_MODEL = 0x0110
EXIF_SOFTWARE = 0x0131
EXIF_IFD = 0x8769
EXIF_USER_COMMENT = 0x9286
# PNG text chunks naming the software (GIMP, ImageMagick, screenshot tools write them).
PNG_SOFTWARE_KEYS = ("Software", "Creator", "Author", "Comment")

# Bounds on what a hostile file can make us read.
MAX_XMP_BYTES = 256 * 1024
MAX_VALUE_CHARS = 200
MAX_VALUES = 12
MAX_PDF_IMAGE_PAGES = 3
MAX_REVISIONS = 1000

_XMP_TOOL = re.compile(
    rb"(?:xmp:CreatorTool|stEvt:softwareAgent|pdf:Producer)\s*"
    rb"(?:=\s*\"([^\"<]{1,400})\"|>\s*([^<]{1,400})<)"
)
_STARTXREF = re.compile(rb"startxref\s+(\d{1,12})\s+%%EOF")
_BYTE_RANGE = re.compile(
    rb"/ByteRange\s*\[\s*(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s+(\d{1,12})\s*\]"
)
_LINEARIZED = re.compile(rb"/Linearized\b")


@dataclass
class FileSignals:
    """The readings of one file (JSON-ready through `to_json`)."""

    # Each distinct software name the metadata gives, as written (trimmed).
    software: list[str] = field(default_factory=list)
    # A PDF's first revision's producer and creator: what made the document before any
    # update (a registry's name stays there when a later save overwrites the current one).
    original_software: list[str] = field(default_factory=list)
    # A PDF's incremental updates after its first revision, not counting a linearised
    # file's first-page section nor the updates a signature covers (a registry signing its
    # own extract); None when the file is no PDF.
    updates: int | None = None
    # The revision sections found, and how many of them a signature covers.
    revisions: int | None = None
    signed_revisions: int | None = None
    # Pixel size: the image's, or the largest image on a PDF's first pages.
    width: int | None = None
    height: int | None = None
    # Resolution the file declares (JFIF, EXIF or PNG pHYs), pixels per inch.
    dpi: tuple[int, int] | None = None
    # A camera's make or model in the EXIF: a photograph, not a screen capture.
    camera: str | None = None
    # The metadata calls the image a screenshot (iOS writes « Screenshot » in UserComment).
    screenshot_marker: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["dpi"] = list(self.dpi) if self.dpi else None
        return out


def _clean(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    text = " ".join(value.replace("\x00", " ").split())
    return text[:MAX_VALUE_CHARS] or None


def _add(values: list[str], value: Any) -> None:
    text = _clean(value)
    if text and text not in values and len(values) < MAX_VALUES:
        values.append(text)


def _xmp_tools(xmp: bytes) -> list[str]:
    found: list[str] = []
    for match in _XMP_TOOL.finditer(xmp[:MAX_XMP_BYTES]):
        _add(found, match.group(1) or match.group(2))
    return found


def _dpi(value: Any) -> tuple[int, int] | None:
    try:
        x, y = (round(float(v)) for v in value)
    except (TypeError, ValueError, OverflowError):
        return None
    return (x, y) if x > 0 and y > 0 else None


def read_image_signals(data: bytes) -> FileSignals:
    """Metadata of a PNG or JPEG, from its header: no pixel is decoded."""
    signals = FileSignals()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                signals.width, signals.height = image.size
                signals.dpi = _dpi(image.info.get("dpi"))
                exif = image.getexif()
                for tag in (EXIF_SOFTWARE, EXIF_PROCESSING_SOFTWARE):
                    _add(signals.software, exif.get(tag))
                for key in PNG_SOFTWARE_KEYS:
                    if key == "Software" or image.format == "PNG":
                        _add(signals.software, image.info.get(key))
                xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
                if isinstance(xmp, str):
                    xmp = xmp.encode("utf-8", errors="replace")
                if isinstance(xmp, bytes):
                    for tool in _xmp_tools(xmp):
                        _add(signals.software, tool)
                camera = " ".join(
                    t for t in (_clean(exif.get(EXIF_MAKE)), _clean(exif.get(EXIF_MODEL))) if t
                )
                signals.camera = camera or None
                comment = _clean(exif.get_ifd(EXIF_IFD).get(EXIF_USER_COMMENT))
                signals.screenshot_marker = bool(comment and "screenshot" in comment.lower())
    except Exception as exc:  # hostile metadata must never stop the extraction
        signals.error = f"métadonnées de l'image illisibles ({type(exc).__name__})"
    return signals


def _pdf_software(reader: PdfReader) -> list[str]:
    found: list[str] = []
    info = reader.metadata
    if info is not None:
        _add(found, info.get("/Producer"))
        _add(found, info.get("/Creator"))
    root = reader.trailer.get("/Root")
    metadata = root.get("/Metadata") if root is not None else None
    if metadata is not None:
        stream = metadata.get_object()
        for tool in _xmp_tools(stream.get_data()):
            _add(found, tool)
    return found


def _largest_image(reader: PdfReader) -> tuple[int, int] | None:
    best: tuple[int, int] | None = None
    for page in list(reader.pages)[:MAX_PDF_IMAGE_PAGES]:
        resources = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        if xobjects is None:
            continue
        for ref in xobjects.get_object().values():
            xobject = ref.get_object()
            if xobject.get("/Subtype") != "/Image":
                continue
            width, height = xobject.get("/Width"), xobject.get("/Height")
            if not isinstance(width, int) or not isinstance(height, int):
                continue
            if width > 0 and height > 0 and (best is None or width * height > best[0] * best[1]):
                best = (width, height)
    return best


def _revision_ends(data: bytes) -> list[int]:
    """The end offset of each revision: every « startxref N %%EOF » trailer."""
    ends = sorted({m.end() for m in _STARTXREF.finditer(data)})
    return ends[:MAX_REVISIONS]


def _signed_end(data: bytes) -> int:
    """How far the furthest-reaching signature's byte range covers the file."""
    return max((int(m[3]) + int(m[4]) for m in _BYTE_RANGE.finditer(data)), default=0)


def read_pdf_signals(data: bytes) -> FileSignals:
    """Producer, creator and XMP tools of a PDF, now and in its first revision, and the
    incremental updates it received."""
    signals = FileSignals()
    ends = _revision_ends(data)
    # A linearised file opens with its first page's own cross-reference section.
    first = 1 if len(ends) > 1 and _LINEARIZED.search(data[:2048]) else 0
    signed_end = _signed_end(data)
    signals.revisions = len(ends)
    signals.signed_revisions = sum(1 for end in ends[first + 1 :] if end <= signed_end)
    signals.updates = max(0, len(ends) - 1 - first - signals.signed_revisions)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                signals.error = "PDF chiffré : métadonnées non lues"
                return signals
            signals.software = _pdf_software(reader)
            largest = _largest_image(reader)
            if largest is not None:
                signals.width, signals.height = largest
            if ends and len(ends) > first + 1:
                original = PdfReader(io.BytesIO(data[: ends[first]]), strict=False)
                signals.original_software = _pdf_software(original)
            else:
                signals.original_software = list(signals.software)
    except RecursionError:
        signals.error = "PDF malformé (structure récursive) : métadonnées non lues"
    except Exception as exc:  # a broken PDF is file.readable's to report
        signals.error = f"métadonnées du PDF illisibles ({type(exc).__name__})"
    return signals


def read_file_signals(data: bytes) -> FileSignals | None:
    """The signals of a PNG, JPEG or PDF (by content); None for any other file."""
    kind = media.sniff_media_type(data)
    if kind in (media.MEDIA_PNG, media.MEDIA_JPEG):
        return read_image_signals(data)
    if kind == media.MEDIA_PDF:
        return read_pdf_signals(data)
    return None
