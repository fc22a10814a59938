"""Hostile files for the bad-input tests, made on the fly (nothing binary in the repo)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image
from pypdf import PdfWriter


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def png_bomb(side: int = 30_000) -> bytes:
    """A valid side×side 1-bit PNG of zeros: ~110 MB of pixels data compressing to ~100 KB,
    900 million pixels once decoded."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    chunks = [compressor.compress(row) for _ in range(side)]
    data = b"".join(chunks) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def small_image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 180, 160)).save(out, format=fmt)
    return out.getvalue()


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def blank_pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf(source: bytes) -> bytes:
    from pypdf import PdfReader

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def corrupt_pdf() -> bytes:
    """A PDF header followed by garbage: no objects, no xref, no trailer."""
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


HTML_AS_PDF = (
    b"<!DOCTYPE html>\n<html><head><title>Erreur 404</title></head>"
    b"<body><h1>Document introuvable</h1></body></html>\n"
)
