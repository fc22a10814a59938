"""The file signals reader (extraction/filesignals.py): what a file's metadata says of how it
was made. Pure: bytes in, readings out, never an exception, never a pixel decoded."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from ra_workbench.extraction import extract_document
from ra_workbench.extraction.filesignals import read_file_signals
from ra_workbench.synth.documents import images_to_pdf
from tests.extraction.mandates import signed_mandate, stamped_after_signing
from tests.extraction.signal_files import (
    jpeg,
    png,
    registry_pdf,
    signed_by_registry,
    updated,
)

# -- images ------------------------------------------------------------------------------------


def test_a_jpeg_saved_from_photoshop_names_it_with_its_size_and_resolution() -> None:
    signals = read_file_signals(jpeg(software="Adobe Photoshop 25.0 (Windows)", dpi=(300, 300)))
    assert signals is not None
    assert signals.software == ["Adobe Photoshop 25.0 (Windows)"]
    assert (signals.width, signals.height, signals.dpi) == (1200, 800, (300, 300))
    assert signals.camera is None
    assert signals.error is None


def test_a_phone_photo_names_its_camera_and_an_ios_screenshot_says_so() -> None:
    photo = read_file_signals(jpeg(camera=("Apple", "iPhone 14")))
    assert photo is not None
    assert photo.camera == "Apple iPhone 14"
    capture = read_file_signals(jpeg(1170, 2532, comment="Screenshot"))
    assert capture is not None
    assert capture.screenshot_marker
    assert capture.camera is None


def test_a_gimp_png_names_gimp_through_its_text_chunk() -> None:
    signals = read_file_signals(png(900, 600, software="GIMP 2.10.36"))
    assert signals is not None
    assert signals.software == ["GIMP 2.10.36"]


def test_xmp_creator_tool_is_read_from_a_jpeg() -> None:
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'xmp:CreatorTool="Canva"/></rdf:RDF></x:xmpmeta>'
    )
    out = io.BytesIO()
    Image.new("RGB", (900, 600)).save(out, format="JPEG", xmp=xmp)
    signals = read_file_signals(out.getvalue())
    assert signals is not None
    assert signals.software == ["Canva"]


def test_a_truncated_exif_gives_no_traceback() -> None:
    data = jpeg(software="Adobe Photoshop 25.0")
    start = data.index(b"Exif\x00\x00")
    # The IFD's entry count says 200 entries; the segment holds two.
    broken = data[: start + 14] + b"\xc8\x00" + data[start + 16 :]
    signals = read_file_signals(broken)
    assert signals is not None
    assert (signals.width, signals.height) == (1200, 800)
    cut = read_file_signals(data[: start + 20])
    assert cut is not None  # a file cut inside its EXIF: what could be read, or an error
    assert cut.error is None or "illisibles" in cut.error


# -- PDFs --------------------------------------------------------------------------------------


def test_a_registry_pdf_as_delivered_has_no_update() -> None:
    signals = read_file_signals(registry_pdf())
    assert signals is not None
    assert signals.updates == 0
    assert signals.revisions == 1
    assert "Infogreffe" in signals.software
    assert signals.original_software == signals.software


def test_a_registry_pdf_updated_twice_keeps_its_original_producer_and_counts_updates() -> None:
    twice = updated(updated(registry_pdf(), producer="Smallpdf"), producer="iLovePDF")
    signals = read_file_signals(twice)
    assert signals is not None
    assert signals.updates == 2
    assert signals.revisions == 3
    assert "iLovePDF" in signals.software
    assert "Infogreffe" in signals.original_software


def test_a_signature_the_registry_adds_is_no_update_but_a_change_after_it_is() -> None:
    signed = signed_by_registry(registry_pdf())
    signals = read_file_signals(signed)
    assert signals is not None
    assert (signals.revisions, signals.signed_revisions, signals.updates) == (2, 1, 0)
    after = read_file_signals(updated(signed))
    assert after is not None
    assert (after.revisions, after.signed_revisions, after.updates) == (3, 1, 1)


def test_the_generators_signed_mandates_count_no_update_and_a_stamp_after_signing_does() -> None:
    mandate = signed_mandate()
    signals = read_file_signals(mandate)
    assert signals is not None
    assert signals.updates == 0
    stamped = read_file_signals(stamped_after_signing(mandate))
    assert stamped is not None
    assert stamped.updates == 1


def test_the_largest_image_of_a_scanned_pdf_gives_its_pixel_size() -> None:
    pages = [Image.new("RGB", (300, 200), "white"), Image.new("RGB", (1240, 1754), "white")]
    signals = read_file_signals(images_to_pdf(pages))
    assert signals is not None
    assert (signals.width, signals.height) == (1240, 1754)


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda pdf: pdf.replace(b"startxref", b"startxrff"), id="no-startxref"),
        pytest.param(lambda pdf: pdf[: len(pdf) // 2], id="truncated"),
        pytest.param(lambda pdf: pdf.replace(b"xref", b"xxxx"), id="broken-xref"),
        pytest.param(lambda pdf: b"%PDF-1.7\n" + bytes(range(256)) * 40, id="garbage"),
    ],
)
def test_a_broken_pdf_gives_no_traceback(broken: object) -> None:
    data = broken(updated(registry_pdf()))  # type: ignore[operator]
    signals = read_file_signals(data)
    assert signals is not None
    assert signals.updates is not None
    assert signals.updates >= 0
    assert signals.error is None or "PDF" in signals.error
    result = extract_document(data, "kbis")
    assert result["file_signals"] is not None


def test_the_extraction_envelope_carries_the_signals_as_json() -> None:
    result = extract_document(updated(registry_pdf()), "kbis")
    signals = result["file_signals"]
    assert signals["updates"] == 1
    assert "Infogreffe" in signals["original_software"]
    assert extract_document(b"not a document at all", None)["file_signals"] is None
