"""Mandate files for the tests: signed by the demo's test authority as the generator signs
them, then broken in the ways an operator must be protected from."""

from __future__ import annotations

import datetime as dt
import functools
import io
import random

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.stamp import TextStamp, TextStampStyle

from ra_workbench.checks.facts import MandateFacts
from ra_workbench.extraction.mandate import read_mandate
from ra_workbench.synth.documents import render_mandate_pdf
from ra_workbench.synth.signing import DEMO_CA, TestAuthority

SIGNED_ON = dt.date(2026, 11, 2)  # builders.TODAY is 2026-11-20
UNKNOWN_CA = TestAuthority("unknown", "AC Inconnue - hors magasin de confiance")


@functools.cache
def signed_mandate(
    *,
    representative: tuple[str, str] = ("PAUL", "MOREL"),
    mandataire: tuple[str, str] = ("SOPHIE", "LEROY"),
    signed_on: dt.date = SIGNED_ON,
    countersigned: bool = True,
    authority: TestAuthority = DEMO_CA,
    seed: int = 1,
) -> bytes:
    """The mandate of builders.clean_facts' organisation, signed by its legal representative
    and countersigned by its mandataire (by default)."""
    return render_mandate_pdf(
        organisation="ATELIERS MOREL",
        legal_representative=representative,
        mandataire=mandataire,
        signed_on=signed_on,
        electronically_signed=True,
        countersigned=countersigned,
        authority=authority,
        rng=random.Random(seed),
    )


def flipped_inside_signed_range(pdf: bytes) -> bytes:
    """One letter of the document's title changed in place, in the first revision (the one
    the legal representative signed): same length, same structure, but the bytes that
    signature hashed are no longer those it signed."""
    title = b"/Title (Mandat de certification)"
    assert title in pdf
    return pdf.replace(title, b"/Title (Mandat de certificatioN)", 1)


def stamped_after_signing(pdf: bytes) -> bytes:
    """An incremental update that writes new text on the signed page (« Mandataire :
    JEAN FAUX »): every signature stays intact, but the page changed after signing."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    TextStamp(writer, TextStampStyle(stamp_text="Mandataire : JEAN FAUX")).apply(0, 60, 60)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def mandate_facts(pdf: bytes) -> MandateFacts:
    """What the checks see of the file, through the same JSON the extraction cache keeps."""
    return MandateFacts.from_extraction(read_mandate(pdf).to_json())
