"""Files for the file signals' tests: images with the metadata an editor, a camera or a phone
writes, and registry PDFs as delivered, updated or signed."""

from __future__ import annotations

import datetime as dt
import io
import random

from PIL import Image
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfWriter
from reportlab.pdfgen.canvas import Canvas

from ra_workbench.extraction.filesignals import (
    EXIF_IFD,
    EXIF_MAKE,
    EXIF_MODEL,
    EXIF_SOFTWARE,
    EXIF_USER_COMMENT,
)
from ra_workbench.synth.signing import DEMO_CA, sign_pdf_as

SIGNED_AT = dt.datetime(2026, 11, 2, 10, 30, tzinfo=dt.UTC)


def jpeg(
    width: int = 1200,
    height: int = 800,
    *,
    software: str | None = None,
    camera: tuple[str, str] | None = None,
    comment: str | None = None,
    dpi: tuple[int, int] | None = None,
) -> bytes:
    exif = Image.Exif()
    if software:
        exif[EXIF_SOFTWARE] = software
    if camera:
        exif[EXIF_MAKE], exif[EXIF_MODEL] = camera
    if comment:
        exif.get_ifd(EXIF_IFD)[EXIF_USER_COMMENT] = comment
    out = io.BytesIO()
    options: dict[str, object] = {"exif": exif}
    if dpi:
        options["dpi"] = dpi
    Image.new("RGB", (width, height), "#dde4ee").save(out, format="JPEG", **options)
    return out.getvalue()


def png(width: int, height: int, *, software: str | None = None) -> bytes:
    info = PngInfo()
    if software:
        info.add_text("Software", software)
    out = io.BytesIO()
    Image.new("RGB", (width, height), "#f0f0f0").save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def registry_pdf(producer: str = "Infogreffe") -> bytes:
    """A one-page extract as a registry's software writes it."""
    out = io.BytesIO()
    canvas = Canvas(out)
    canvas.setProducer(producer)
    canvas.setCreator(producer)
    canvas.drawString(72, 760, "EXTRAIT KBIS")
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def updated(pdf: bytes, *, producer: str = "iLovePDF") -> bytes:
    """`pdf` saved again incrementally (pypdf's incremental writer), its producer replaced."""
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    writer.add_metadata({"/Producer": producer})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def signed_by_registry(pdf: bytes) -> bytes:
    return sign_pdf_as(
        pdf,
        DEMO_CA.issue("GREFFE", "INFOGREFFE", on=SIGNED_AT.date()),
        signed_at=SIGNED_AT,
        field_name="Signature_greffe",
        reason="Extrait Kbis",
        rng=random.Random(1),
    )
