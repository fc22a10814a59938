"""Reading a certification mandate: its date, and its PDF signatures verified with pyHanko
(what `mandate.valid` needs)."""

from __future__ import annotations

import datetime as dt
import random

from ra_workbench.extraction import extract_document
from ra_workbench.extraction.mandate import parse_pdf_date, read_mandate
from ra_workbench.extraction.signatures import verify_pdf_signatures
from ra_workbench.synth.documents import render_mandate_pdf
from tests.extraction.mandates import flipped_inside_signed_range, stamped_after_signing

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


def test_electronically_signed_mandate_carries_both_signatures_verified_intact() -> None:
    reading = read_mandate(_mandate(signed=True))
    assert reading.has_signature_field
    representative, mandataire = reading.signatures
    assert representative.field_name == "Signature_representant_legal"
    assert representative.sub_filter == "adbe.pkcs7.detached"
    assert reading.signing_time is not None
    assert reading.signing_time.astimezone(dt.timezone(dt.timedelta(hours=1))).date() == SIGNED_ON
    # The legal representative signed the first revision; the countersignature followed.
    assert not representative.covers_whole_file
    assert mandataire.covers_whole_file
    first, second = representative.verification, mandataire.verification
    assert first is not None
    assert second is not None
    assert (first.intact, first.valid, first.modification) == (True, True, "form_filling")
    assert first.sound
    assert second.sound
    assert (first.signer_given_name, first.signer_surname) == ("PAUL", "MOREL")
    assert second.signer_common_name == "CLAIRE DURAND"
    assert first.certificates  # the signer's certificate, then the issuer the CMS embeds


def test_mandate_date_is_read_from_fait_a_le_in_its_text() -> None:
    reading = read_mandate(_mandate(signed=False))
    assert (reading.date, reading.date_source) == (SIGNED_ON, "text")
    assert not reading.has_signature_field
    assert reading.signing_time is None


def test_bytes_appended_past_the_last_revision_are_outside_the_signature_but_change_nothing() -> (
    None
):
    data = _mandate(signed=True) + b"\n% appended after signing\n"
    signatures = read_mandate(data).signatures
    assert not any(s.covers_whole_file for s in signatures)
    # No revision follows the countersignature: a reader shows the signed document, so
    # pyHanko finds no modification (a real edit is an incremental update: see below).
    last = signatures[-1].verification
    assert last is not None
    assert (last.coverage, last.modification, last.sound) == ("entire_revision", "none", True)


def test_a_byte_changed_inside_the_signed_range_breaks_the_signature() -> None:
    signatures = read_mandate(flipped_inside_signed_range(_mandate(signed=True))).signatures
    checks = [s.verification for s in signatures]
    assert all(c is not None and not c.intact and not c.sound for c in checks)


def test_text_stamped_on_the_page_after_signing_is_a_modification_pades_does_not_allow() -> None:
    signatures = read_mandate(stamped_after_signing(_mandate(signed=True))).signatures
    for signature in signatures:
        check = signature.verification
        assert check is not None
        assert (check.intact, check.valid) == (True, True)  # the signed bytes are untouched
        assert check.modification == "other"
        assert not check.unmodified


def test_garbage_and_truncated_pdfs_give_an_error_result_never_an_exception() -> None:
    signed = _mandate(signed=True)
    assert verify_pdf_signatures(b"%PDF-1.7 garbage")[1] is not None
    for cut in (len(signed) // 3, len(signed) // 2, len(signed) - 40):
        checks, _error = verify_pdf_signatures(signed[:cut])
        assert all(c.error is not None or not c.sound for c in checks)
        out = extract_document(signed[:cut], "mandate")
        if out["error"] is None:  # pypdf read what was left: no signature verifies
            for signature in out["mandate"]["signatures"]:
                verification = signature["verification"]
                assert verification["error"] or not verification["intact"]


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
    verification = out["signatures"][0]["verification"]
    assert verification["intact"] is True
    assert verification["signer_common_name"] == "PAUL MOREL"


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
