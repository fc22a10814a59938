"""Reading a certification mandate: its date, and the PDF signature `mandate.valid` needs."""

from __future__ import annotations

import datetime as dt
import random

from ra_workbench.extraction import extract_document
from ra_workbench.extraction.mandate import parse_pdf_date, read_mandate
from ra_workbench.synth.documents import render_mandate_pdf

SIGNED_ON = dt.date(2026, 11, 20)


def _mandate(*, signed: bool, seed: int = 1) -> bytes:
    return render_mandate_pdf(
        organisation="ATELIERS MOREL",
        legal_representative="PAUL MOREL",
        mandataire="CLAIRE DURAND",
        signed_on=SIGNED_ON,
        electronically_signed=signed,
        rng=random.Random(seed),
    )


def test_electronically_signed_mandate_shows_its_signature_field_and_time() -> None:
    reading = read_mandate(_mandate(signed=True))
    assert reading.has_signature_field
    (signature,) = reading.signatures
    assert signature.sub_filter == "adbe.pkcs7.detached"
    assert signature.signer == "PAUL MOREL"
    assert signature.covers_whole_file
    assert reading.signing_time is not None
    assert reading.signing_time.date() == SIGNED_ON
    assert reading.signing_time.utcoffset() == dt.timedelta(hours=1)


def test_mandate_date_is_read_from_fait_a_le_in_its_text() -> None:
    reading = read_mandate(_mandate(signed=False))
    assert (reading.date, reading.date_source) == (SIGNED_ON, "text")
    assert not reading.has_signature_field
    assert reading.signing_time is None


def test_a_signature_invalidated_by_a_later_edit_no_longer_covers_the_file() -> None:
    data = _mandate(signed=True) + b"\n% appended after signing\n"
    (signature,) = read_mandate(data).signatures
    assert not signature.covers_whole_file


def test_an_empty_signature_field_is_no_signature() -> None:
    data = _mandate(signed=True)
    # The same file with the field's value unset: what an unsigned form template looks like.
    blanked = data.replace(b"/FT /Sig", b"/FT /Tx ")
    assert len(blanked) == len(data)
    assert not read_mandate(blanked).has_signature_field


def test_mandate_json_carries_the_keys_the_checks_read() -> None:
    out = extract_document(_mandate(signed=True), "mandate")["mandate"]
    assert out["has_signature_field"] is True
    assert out["date"] == "2026-11-20"
    assert out["signing_time"].startswith("2026-11-20T")


def test_pdf_dates_parse_with_and_without_offset() -> None:
    assert parse_pdf_date("D:20261120101503+01'00'") == dt.datetime(
        2026, 11, 20, 10, 15, 3, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    assert parse_pdf_date("D:20261120101503Z") == dt.datetime(
        2026, 11, 20, 10, 15, 3, tzinfo=dt.UTC
    )
    assert parse_pdf_date("D:2026") == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert parse_pdf_date("D:20261399") is None
    assert parse_pdf_date("yesterday") is None
