"""Synthetic supporting documents: proof of payment and certification mandate, plus the
page layout and "scanner" shared with the Kbis generator.

Seeded and reproducible: every random choice comes from the `random.Random` passed in, the
mandate's signatures included (Ed25519, deterministic; see synth/signing.py).

A mandate rendered with `electronically_signed=True` is signed with pyHanko as a PDF
signing tool signs it: the legal representative's signature (field
`Signature_representant_legal`, adbe.pkcs7.detached, /M the signing time), then the
mandataire's countersignature (`Signature_mandataire`) in an incremental update, each by a
certificate in the signer's name issued by the demo's test authority, whose certificate is
in the demo trust store (rules/trust/mandates/).
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from PIL import Image, ImageFilter
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from ra_workbench.extraction.kbis.dates import french_date_words
from ra_workbench.synth.signing import DEMO_CA, TestAuthority, sign_pdf_as

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
REGULAR, BOLD = "Helvetica", "Helvetica-Bold"


# -- layout ----------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of a document: a heading, a label with its value, or plain text."""

    kind: str  # title | subtitle | heading | role | row | text | space | right
    text: str = ""
    value: str = ""
    size: float = 9.5


@dataclass
class Layout:
    """Rows laid out top to bottom on A4 pages, label column and value column, with a
    header repeated on every page and a footer ("page 1/2")."""

    rows: list[Row] = field(default_factory=list)
    header: Sequence[tuple[str, str]] = ()  # (left, right) lines
    footer: str = ""
    value_x: float = 80 * mm
    title: str = "document"

    def add(self, kind: str, text: str = "", value: str = "", size: float = 9.5) -> None:
        self.rows.append(Row(kind, text, value, size))

    def _wrap(self, text: str, font: str, size: float, width: float) -> list[str]:
        lines: list[str] = []
        current = ""
        for word in text.split(" "):
            candidate = f"{current} {word}".strip()
            if current and stringWidth(candidate, font, size) > width:
                lines.append(current)
                current = word
            else:
                current = candidate
        return [*lines, current] if current else lines or [""]

    def _paginate(self) -> list[list[tuple[Row, list[str]]]]:
        pages: list[list[tuple[Row, list[str]]]] = [[]]
        y = PAGE_HEIGHT - MARGIN - 14 * len(self.header) - 10
        for row in self.rows:
            if row.kind == "row":
                lines = self._wrap(row.value, REGULAR, row.size, PAGE_WIDTH - MARGIN - self.value_x)
            else:
                lines = self._wrap(row.text, BOLD, row.size, PAGE_WIDTH - 2 * MARGIN)
            height = _row_height(row) * len(lines)
            # Keep a role with its first rows: never end a page on a heading.
            needed = height + (40 if row.kind in ("heading", "role") else 0)
            if y - needed < MARGIN + 30:
                pages.append([])
                y = PAGE_HEIGHT - MARGIN - 14 * len(self.header) - 10
            pages[-1].append((row, lines))
            y -= height
        return pages

    def render(self, *, creation: dt.datetime | None = None) -> bytes:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=A4, invariant=True)
        canvas.setTitle(self.title)
        canvas.setCreator("RA Workbench synth")
        pages = self._paginate()
        for number, page in enumerate(pages, start=1):
            y = PAGE_HEIGHT - MARGIN
            for left, right in self.header:
                canvas.setFont(REGULAR, 8.5)
                if left:
                    canvas.drawString(MARGIN, y, left)
                if right:
                    canvas.drawRightString(PAGE_WIDTH - MARGIN, y, right)
                y -= 14
            y -= 10
            for row, lines in page:
                y = _draw_row(canvas, row, lines, y, self.value_x)
            if self.footer:
                canvas.setFont(REGULAR, 7.5)
                canvas.drawString(MARGIN, MARGIN - 6, f"{self.footer} - page {number}/{len(pages)}")
            canvas.showPage()
        canvas.save()
        return buffer.getvalue()


def _row_height(row: Row) -> float:
    return {"title": 26, "subtitle": 16, "heading": 22, "role": 17, "space": 8}.get(
        row.kind, row.size + 4.5
    )


def _draw_row(canvas: Canvas, row: Row, lines: list[str], y: float, value_x: float) -> float:
    for index, line in enumerate(lines):
        if row.kind == "space":
            pass
        elif row.kind == "title":
            canvas.setFont(BOLD, 17)
            canvas.drawCentredString(PAGE_WIDTH / 2, y - 16, line)
        elif row.kind == "subtitle":
            canvas.setFont(REGULAR, row.size)
            canvas.drawCentredString(PAGE_WIDTH / 2, y - 10, line)
        elif row.kind == "heading":
            canvas.setFont(BOLD, row.size)
            canvas.setLineWidth(0.6)
            canvas.line(MARGIN, y - 3, PAGE_WIDTH - MARGIN, y - 3)
            canvas.drawString(MARGIN, y - 15, line)
        elif row.kind == "role":
            canvas.setFont(BOLD, row.size + 0.5)
            canvas.drawString(MARGIN + 4, y - 12, line)
        elif row.kind == "row":
            canvas.setFont(REGULAR, row.size)
            if index == 0:
                canvas.drawString(MARGIN + 4, y - row.size, row.text)
            canvas.drawString(value_x, y - row.size, line)
        elif row.kind == "right":
            canvas.setFont(REGULAR, row.size)
            canvas.drawRightString(PAGE_WIDTH - MARGIN, y - row.size, line)
        else:
            canvas.setFont(REGULAR, row.size)
            canvas.drawString(MARGIN, y - row.size, line)
        y -= _row_height(row)
    return y


# -- the "scanner" ----------------------------------------------------------------------------


def scan_pages(pdf: bytes, *, rng: random.Random, dpi: int = 200) -> list[Image.Image]:
    """The pages of `pdf` as a flatbed scanner gives them back: grey, slightly rotated and
    shifted, with sensor noise and a little blur."""
    from pdf2image import convert_from_bytes  # noqa: PLC0415 - pdf2image (poppler) only for scanned-looking documents

    noise = np.random.default_rng(rng.getrandbits(32))
    scanned = []
    for page in convert_from_bytes(pdf, dpi=dpi, grayscale=True, thread_count=1, timeout=60):
        angle = rng.uniform(-1.2, 1.2)
        image = page.convert("L").rotate(
            angle,
            resample=Image.Resampling.BICUBIC,
            fillcolor=255,
            translate=(rng.randint(-12, 12), rng.randint(-12, 12)),
        )
        if rng.random() < 0.5:
            image = image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.3, 0.7)))
        pixels = np.asarray(image, dtype=np.float32)
        pixels = pixels * rng.uniform(0.9, 1.0) + rng.uniform(0, 12)  # paper tone
        pixels += noise.normal(0, rng.uniform(3, 9), pixels.shape)
        scanned.append(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L"))
    return scanned


def images_to_pdf(images: Sequence[Image.Image], *, quality: int = 70) -> bytes:
    """An image-only PDF (no text layer), one JPEG per A4 page."""

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.setCreator("RA Workbench synth scanner")
    for image in images:
        jpeg = io.BytesIO()
        image.save(jpeg, format="JPEG", quality=quality)
        jpeg.seek(0)
        canvas.drawImage(ImageReader(jpeg), 0, 0, width=PAGE_WIDTH, height=PAGE_HEIGHT)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def scan_pdf(pdf: bytes, *, rng: random.Random, dpi: int = 200) -> bytes:
    return images_to_pdf(scan_pages(pdf, rng=rng, dpi=dpi), quality=rng.randint(60, 80))


def scan_image(pdf: bytes, *, rng: random.Random, dpi: int = 200, fmt: str = "JPEG") -> bytes:
    """The first page of `pdf` scanned to a JPEG or PNG file."""
    image = scan_pages(pdf, rng=rng, dpi=dpi)[0]
    out = io.BytesIO()
    if fmt.upper() == "PNG":
        image.save(out, format="PNG", optimize=False)
    else:
        image.save(out, format="JPEG", quality=rng.randint(65, 85))
    return out.getvalue()


# -- proof of payment -------------------------------------------------------------------------


def _euros(amount: str) -> str:
    units, _, cents = f"{float(amount):.2f}".partition(".")
    grouped = f"{int(units):,}".replace(",", " ")
    return f"{grouped},{cents} EUR"


def render_payment_proof_pdf(
    *, order_number: str, amount_ttc: str, transaction_id: str, paid_on: date, rng: random.Random
) -> bytes:
    """A bank's transfer confirmation ("avis d'opération") for an order paid by transfer."""
    bank = rng.choice(
        ("Banque Populaire Grand Ouest", "Credit Agricole Atlantique Vendee", "CIC Ouest")
    )
    iban_tail = "".join(str(rng.randrange(10)) for _ in range(4))
    layout = Layout(
        header=((bank, f"Edité le {paid_on:%d/%m/%Y}"), ("Service clientèle entreprises", "")),
        footer=f"{bank} - avis d'opération {transaction_id}",
        value_x=75 * mm,
        title="Avis d'opération",
    )
    layout.add("title", "AVIS D'OPERATION")
    layout.add("subtitle", "Confirmation d'ordre de virement SEPA")
    layout.add("space")
    layout.add("row", "Date d'exécution", f"{paid_on:%d/%m/%Y}")
    layout.add("row", "Référence de l'opération", transaction_id)
    layout.add(
        "row", "Compte débité", f"FR76 **** **** **** **** ***{iban_tail[:2]} {iban_tail[2:]}"
    )
    layout.add("row", "Bénéficiaire", "CERTEUROPE")
    layout.add("row", "IBAN bénéficiaire", "FR76 3000 4000 0500 0123 4567 890")
    layout.add("row", "Montant", _euros(amount_ttc))
    layout.add("row", "Motif", f"Commande {order_number}")
    layout.add("space")
    layout.add("text", f"Virement émis le {french_date_words(paid_on)}.")
    return layout.render()


# -- mandate ------------------------------------------------------------------------------------


def _mandate_text_pdf(
    *,
    organisation: str,
    legal_representative: str,
    mandataire: str,
    signed_on: date,
    city: str,
) -> bytes:
    layout = Layout(
        header=(("CertEurope - Autorité d'enregistrement", "Formulaire MANDAT-RGS v3"),),
        footer="Mandat de certification",
        value_x=70 * mm,
        title="Mandat de certification",
    )
    layout.add("title", "MANDAT DE CERTIFICATION")
    layout.add("subtitle", "Désignation d'un mandataire de certification")
    layout.add("space")
    layout.add("row", "Organisme", organisation)
    layout.add("row", "Représentant légal", legal_representative)
    layout.add("row", "Mandataire de certification", mandataire)
    layout.add("space")
    text = (
        f"Je soussigné(e) {legal_representative}, agissant en qualité de représentant légal de "
        f"{organisation}, donne mandat à {mandataire} pour demander, en son nom, la délivrance, "
        "le renouvellement et la révocation des certificats électroniques des porteurs de "
        "l'organisme. Le mandataire déclare ne jamais prendre connaissance des données "
        "d'activation des porteurs."
    )
    for line in Layout()._wrap(text, REGULAR, 9.5, PAGE_WIDTH - 2 * MARGIN):
        layout.add("text", line)
    layout.add("space")
    layout.add("text", f"Fait à {city}, le {french_date_words(signed_on)}")
    layout.add("space")
    layout.add("row", "Signature du représentant légal", legal_representative)
    layout.add("row", "Signature du mandataire", mandataire)
    return layout.render()


def _person_name(name: str | tuple[str, str]) -> tuple[str, str]:
    """(given name, surname): a "PAUL MOREL" string is split at its first space."""
    if isinstance(name, tuple):
        return name
    given, _, surname = name.partition(" ")
    return given, surname


def render_mandate_pdf(
    *,
    organisation: str,
    legal_representative: str | tuple[str, str],
    mandataire: str | tuple[str, str],
    signed_on: date,
    electronically_signed: bool,
    rng: random.Random,
    countersigned: bool = True,
    authority: TestAuthority = DEMO_CA,
) -> bytes:
    """The certification mandate the legal representative gives the mandataire, dated
    `signed_on` in its text ("Fait à Lyon, le 20 novembre 2026"). When
    `electronically_signed`, the legal representative signs it (PAdES-style, a certificate
    issued by `authority` in their name) and, when `countersigned`, the mandataire then
    countersigns it in an incremental update; else a plain (printed-and-scanned-like) PDF.
    A name is "GIVEN SURNAME" or (given, surname)."""
    representative, agent = _person_name(legal_representative), _person_name(mandataire)
    city = rng.choice(("Lyon", "Nantes", "Rennes", "Lille", "Bordeaux", "Toulouse", "Paris"))
    pdf = _mandate_text_pdf(
        organisation=organisation,
        legal_representative=" ".join(representative),
        mandataire=" ".join(agent),
        signed_on=signed_on,
        city=city,
    )
    if not electronically_signed:
        return pdf
    signed_at = dt.datetime.combine(
        signed_on,
        dt.time(rng.randint(8, 18), rng.randint(0, 59), rng.randint(0, 59)),
        tzinfo=dt.timezone(dt.timedelta(hours=1)),
    )
    pdf = sign_pdf_as(
        pdf,
        authority.issue(*representative, on=signed_on),
        signed_at=signed_at,
        field_name="Signature_representant_legal",
        reason="Mandat de certification",
        rng=rng,
    )
    if not countersigned:
        return pdf
    return sign_pdf_as(
        pdf,
        authority.issue(*agent, on=signed_on),
        signed_at=signed_at + dt.timedelta(minutes=rng.randint(5, 240)),
        field_name="Signature_mandataire",
        reason="Acceptation du mandat (contreseing)",
        rng=rng,
    )
