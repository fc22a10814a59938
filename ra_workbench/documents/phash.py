"""The perceptual hash of identity images and PDF pages (pHash, 64 bits), and the four
16-bit bands it is indexed by (documents/fingerprints.py stores and looks them up). Pure:
no database, so the rules' loader reads its limits without loading a model.

A pHash is the signs of the lowest frequencies of the image's DCT: it survives
re-encoding, resizing and light retouching, so the same passport photo sent again hashes
within a few bits of the first. Two hashes within `MAX_INDEXED_DISTANCE` bits share at
least one band (pigeonhole): equality on one of four indexed columns finds them all.
"""

from __future__ import annotations

from typing import Any

import imagehash
import numpy as np
from PIL import Image

from ra_workbench.extraction import media

HASH_BITS = 64
BAND_BITS = 16
BANDS = HASH_BITS // BAND_BITS
BAND_MASK = (1 << BAND_BITS) - 1
# Two hashes this close always share a band: the furthest a band look-up finds every match.
MAX_INDEXED_DISTANCE = BANDS - 1
# A pHash reads a 32×32 thumbnail: PDF pages need no finer rendering.
FINGERPRINT_DPI = 72
# An identity PDF of more pages fails file.format's page limit anyway (rules max_pdf_pages).
MAX_FINGERPRINT_PAGES = 20


def phash_of(image: np.ndarray) -> int:
    """The 64-bit pHash of an RGB image, as an unsigned integer (first bit highest)."""
    bits = imagehash.phash(Image.fromarray(image)).hash.flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def perceptual_hashes(data: bytes, *, max_pages: int = MAX_FINGERPRINT_PAGES) -> list[int]:
    """One pHash per image, or per page of a PDF (its first `max_pages`). Raises
    media.MediaError for what cannot be decoded."""
    pages = media.load_pages(data, dpi=FINGERPRINT_DPI, max_pages=max(1, max_pages))
    return [phash_of(page) for page in pages]


def to_signed(value: int) -> int:
    """The unsigned 64 bits as the signed integer a BIGINT column holds."""
    return value - (1 << HASH_BITS) if value >= 1 << (HASH_BITS - 1) else value


def to_unsigned(value: int) -> int:
    return value + (1 << HASH_BITS) if value < 0 else value


def bands_of(value: int) -> tuple[int, ...]:
    """The four 16-bit bands of an unsigned hash, highest first."""
    return tuple((value >> (BAND_BITS * (BANDS - 1 - i))) & BAND_MASK for i in range(BANDS))


def hamming(a: int, b: int) -> int:
    return (to_unsigned(a) ^ to_unsigned(b)).bit_count()


def fingerprint_row(sha256: str, page: int, value: int) -> dict[str, Any]:
    """The image_fingerprints row of one hash (the benchmark inserts them this way too)."""
    row: dict[str, Any] = {"sha256": sha256, "page": page, "phash": to_signed(value)}
    row.update({f"band{i}": band for i, band in enumerate(bands_of(value))})
    return row
