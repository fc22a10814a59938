"""Safe decoding of uploaded files: sniff the real type, decode images and PDF pages
with hard limits so that a hostile file yields a MediaError instead of a crash or a hang.

Pure functions: bytes in, arrays or errors out.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ra_workbench.extraction import tools
from ra_workbench.extraction.tools import Budget, ToolError

# Limits. An A4 page at 300 dpi is ~8.7 Mpx; phone photos are ~12-50 Mpx.
MAX_IMAGE_PIXELS = 60_000_000
# What the readers work on: a larger image is decoded downscaled (a JPEG by libjpeg itself,
# at 1/2, 1/4 or 1/8 scale, never at full size), so a 56 Mpx photo costs what a 14 Mpx does.
DECODE_MAX_PIXELS = 16_000_000
# The extractor's own ceiling; rules/checks.toml's files.max_pdf_pages (what the checks
# refuse and the dossier page shows) may not exceed it.
MAX_PDF_PAGES = 50
# CPU seconds poppler may spend rendering the pages asked for (a clean page: well under 1 s).
PDF_RENDER_CPU_S = 30
DEFAULT_PDF_DPI = 200

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
PDF_MAGIC = b"%PDF-"

MEDIA_PNG = "image/png"
MEDIA_JPEG = "image/jpeg"
MEDIA_PDF = "application/pdf"

EXTENSIONS_BY_MEDIA = {
    MEDIA_PNG: {".png"},
    MEDIA_JPEG: {".jpg", ".jpeg"},
    MEDIA_PDF: {".pdf"},
}


class MediaError(Exception):
    """The file cannot be decoded safely. The message is French, for operators."""


def sniff_media_type(data: bytes) -> str:
    """Media type from content (never from the name). Unknown → application/octet-stream."""
    head = data[:1024]
    if head.startswith(PNG_MAGIC):
        return MEDIA_PNG
    if head.startswith(JPEG_MAGIC):
        return MEDIA_JPEG
    # PDF readers tolerate garbage before the header within the first 1024 bytes.
    if PDF_MAGIC in head:
        return MEDIA_PDF
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    return "application/octet-stream"


@dataclass(frozen=True)
class PdfInfo:
    page_count: int
    encrypted: bool
    has_text: bool


def inspect_pdf(data: bytes, *, probe_text: bool = True) -> PdfInfo:
    """Page count, encryption and (when probe_text) whether any page carries a text layer."""

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                return PdfInfo(page_count=0, encrypted=True, has_text=False)
            count = len(reader.pages)
            has_text = False
            for page in list(reader.pages)[: min(count, 3) if probe_text else 0]:
                if (page.extract_text() or "").strip():
                    has_text = True
                    break
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise MediaError(f"PDF illisible ou corrompu ({type(exc).__name__})") from exc
    except RecursionError as exc:
        raise MediaError("PDF malformé (structure récursive)") from exc
    return PdfInfo(page_count=count, encrypted=False, has_text=has_text)


def check_pdf(data: bytes, max_pages: int = MAX_PDF_PAGES) -> PdfInfo:
    info = inspect_pdf(data)
    if info.encrypted:
        raise MediaError("PDF chiffré ou protégé par mot de passe")
    if info.page_count == 0:
        raise MediaError("PDF sans aucune page")
    if info.page_count > max_pages:
        raise MediaError(f"PDF de {info.page_count} pages (maximum {max_pages})")
    return info


def _jpeg_scale(width: int, height: int, max_pixels: int) -> int:
    """The smallest of libjpeg's scale denominators (1, 2, 4, 8) that brings the image
    under `max_pixels` (8 when none does)."""
    for scale in (1, 2, 4, 8):
        if -(-width // scale) * -(-height // scale) <= max_pixels:
            return scale
    return 8


def load_image(
    data: bytes,
    max_pixels: int = MAX_IMAGE_PIXELS,
    *,
    decode_max_pixels: int = DECODE_MAX_PIXELS,
) -> np.ndarray:
    """Decode PNG/JPEG to an RGB uint8 array of at most `decode_max_pixels`, refusing
    decompression bombs (over `max_pixels`) before decoding. The type is the sniffed one,
    whatever the file was declared or guessed to be."""
    media = sniff_media_type(data)
    if media not in (MEDIA_PNG, MEDIA_JPEG):
        raise MediaError(f"format d'image non pris en charge ({media})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels:
                raise MediaError(
                    f"image trop grande ({width}×{height} pixels, maximum {max_pixels:,})"
                )
            if width * height > decode_max_pixels and img.format == "JPEG":
                scale = _jpeg_scale(width, height, decode_max_pixels)
                img.draft("RGB", (max(1, width // scale), max(1, height // scale)))
            img.load()
            if img.width * img.height > decode_max_pixels:
                # PNG has no reduced decode (bounded by max_pixels above); a JPEG past 1/8.
                factor = (decode_max_pixels / (img.width * img.height)) ** 0.5
                img = img.resize(
                    (max(1, int(img.width * factor)), max(1, int(img.height * factor))),
                    Image.Resampling.BOX,
                )
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError("image refusée : bombe de décompression") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"image illisible ou tronquée ({type(exc).__name__})") from exc
    return np.asarray(img.convert("RGB"))


def bounded_dpi(
    data: bytes, dpi: int, first_page: int, last_page: int, max_pixels: int = MAX_IMAGE_PIXELS
) -> int:
    """`dpi`, lowered so that no page from first to last renders to more than `max_pixels`:
    a PDF page may be 200 inches square, a decompression bomb at 200 dpi."""

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            areas = [
                abs(float(page.mediabox.width) * float(page.mediabox.height))
                for page in list(reader.pages)[first_page - 1 : last_page]
            ]
    except Exception:  # the renderer reports unreadable files itself
        return dpi
    square_inches = max(areas, default=0.0) / 72**2
    if square_inches <= 0:
        return dpi
    return max(1, min(dpi, int((max_pixels / square_inches) ** 0.5)))


def render_pdf_pages(
    data: bytes,
    dpi: int = DEFAULT_PDF_DPI,
    first_page: int = 1,
    last_page: int | None = None,
    cpu_seconds: int = PDF_RENDER_CPU_S,
    *,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> list[np.ndarray]:
    """Render PDF pages to RGB arrays with poppler, bounded in pages, pixels, CPU time and
    memory (`tools.run_tool`)."""
    info = check_pdf(data)
    last = min(last_page or info.page_count, info.page_count)
    dpi = bounded_dpi(data, dpi, first_page, last, max_pixels)
    try:
        return tools.pdftoppm_pages(
            data, dpi=dpi, first_page=first_page, last_page=last, budget=Budget(cpu_seconds)
        )
    except ToolError as exc:
        raise MediaError(str(exc)) from exc
    except OSError as exc:  # a page file poppler wrote that PIL cannot read
        raise MediaError(f"PDF impossible à afficher ({type(exc).__name__})") from exc


def load_pages(data: bytes, dpi: int = DEFAULT_PDF_DPI, max_pages: int = 2) -> list[np.ndarray]:
    """Every page of a document as RGB arrays: one for an image, the first pages of a PDF."""
    media = sniff_media_type(data)
    if not data:
        raise MediaError("fichier vide")
    if media == MEDIA_PDF:
        return render_pdf_pages(data, dpi=dpi, last_page=max_pages)
    if media in (MEDIA_PNG, MEDIA_JPEG):
        return [load_image(data)]
    raise MediaError(f"format non pris en charge ({media})")


EXIF_ORIENTATION = 0x0112


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation (1 to 8) a browser turns a PNG/JPEG by; 1 for anything else.
    Reads the header only: the pixels were decoded by `load_image`, unturned."""
    if sniff_media_type(data) not in (MEDIA_PNG, MEDIA_JPEG):
        return 1
    try:
        with Image.open(io.BytesIO(data)) as image:
            value = image.getexif().get(EXIF_ORIENTATION, 1)
    except (OSError, ValueError, SyntaxError):
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def extension_matches(filename: str, media_type: str) -> bool:
    return Path(filename).suffix.lower() in EXTENSIONS_BY_MEDIA.get(media_type, set())
