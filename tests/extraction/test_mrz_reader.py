"""Reading MRZs off files: the public specimens, synthetic scans and photos, bad input."""

from __future__ import annotations

import csv
import io
import json
import random
import time
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageOps

from ra_workbench.extraction.media import MediaError
from ra_workbench.extraction.mrz import oriented, read_identity
from ra_workbench.synth.identity import (
    REAL_WORLD_DEGRADATIONS,
    make_identity_document,
    random_person,
    render_identity_side,
)

SPECIMENS = Path(__file__).resolve().parents[2] / ".." / "shared" / "specimens"
TODAY = date(2026, 1, 15)
BAD_INPUT_SECONDS = 5.0


def _manifest() -> list[tuple[str, list[str], str]]:
    with (SPECIMENS / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [
        (
            row["file"],
            row['expected_mrz (lines separated by " | ")'].split(" | "),
            row["mrz_format"],
        )
        for row in rows
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "expected", "fmt"), _manifest(), ids=lambda v: str(v)[:30])
def test_public_specimen_mrz_is_read_exactly_with_every_check_digit(name, expected, fmt):
    reading = read_identity((SPECIMENS / name).read_bytes(), today=TODAY)
    assert reading is not None
    assert reading.facts.lines == tuple(expected)
    assert reading.valid
    assert reading.format == {"FR_CNI_1988": "FR_CNI"}.get(fmt, fmt)


@pytest.mark.slow
def test_reading_is_json_with_the_keys_the_extraction_layer_relies_on():
    reading = read_identity((SPECIMENS / "uto_td3_icao.png").read_bytes(), today=TODAY)
    assert reading is not None
    payload = json.loads(json.dumps(reading.to_json()))
    for key in (
        "format", "document_code", "issuing_state", "document_number", "surname",
        "given_names", "nationality", "birth_date", "sex", "expiry_date", "expiry_derived",
        "issue_date", "checks", "valid", "lines", "location", "confidence", "corrections",
        "timings",
    ):  # fmt: skip
        assert key in payload, key
    assert payload["birth_date"] == "1974-08-12"
    assert set(payload["location"]) >= {"page", "rotation", "bbox"}


@pytest.mark.slow
def test_reading_says_where_the_band_is_as_fractions_of_the_page_for_the_viewer():
    data = (SPECIMENS / "uto_td3_icao.png").read_bytes()
    reading = read_identity(data, today=TODAY)
    assert reading is not None
    location = json.loads(json.dumps(reading.to_json()))["location"]
    assert location["page_size"] == list(Image.open(io.BytesIO(data)).size)
    left, top, width, height = location["bbox_fraction"]
    # A passport's two MRZ lines run across the bottom of its data page.
    assert 0 <= left < 0.2
    assert width > 0.7
    assert left + width <= 1
    assert top > 0.7
    assert 0.04 < height < 0.15
    assert top + height <= 1


@pytest.mark.parametrize("orientation", range(1, 9))
def test_band_fraction_follows_the_exif_orientation_browsers_show(orientation):
    stored = Image.new("RGB", (400, 200), "white")
    stored.paste((200, 0, 0), (40, 150, 360, 190))  # a band low on the stored pixels
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    stored.save(out, format="PNG", exif=exif)
    shown = ImageOps.exif_transpose(Image.open(io.BytesIO(out.getvalue())))
    red = shown.point(lambda v: 255 if v > 100 else 0).split()[0]  # red channel
    blue = shown.split()[2].point(lambda v: 255 if v < 100 else 0)
    x0, y0, x1, y1 = ImageChops.multiply(red, blue).getbbox()
    width, height = shown.size
    expected = (x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height)
    got = oriented((40 / 400, 150 / 200, 320 / 400, 40 / 200), orientation)
    assert got == pytest.approx(expected, abs=0.01)


@pytest.mark.slow
def test_passport_photo_tagged_as_turned_gets_its_band_where_the_browser_shows_it():
    upright = Image.open(SPECIMENS / "uto_td3_icao.png").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise
    out = io.BytesIO()
    upright.save(out, format="JPEG", quality=95, exif=exif)
    reading = read_identity(out.getvalue(), today=TODAY)
    assert reading is not None
    location = reading.to_json()["location"]
    assert location["exif_orientation"] == 6
    left, top, width, height = location["bbox_fraction"]
    # Upright the band lies across the bottom; turned clockwise it stands on the left.
    assert height > 0.7
    assert top + height <= 1
    assert width < 0.15
    assert left < 0.2


@pytest.mark.slow
def test_old_french_card_photographed_at_an_angle_gets_a_derived_expiry():
    name = "fr_cni1988_BERTHIER_8806_photo_rotated.jpg"
    reading = read_identity((SPECIMENS / name).read_bytes(), today=TODAY)
    assert reading is not None
    payload = reading.to_json()
    assert payload["format"] == "FR_CNI"
    assert payload["issue_date"] == "1988-06-01"
    assert payload["expiry_date"] == "2003-05-31"
    assert payload["expiry_derived"] is True


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["cni1988", "cnie", "passport"])
def test_synthetic_documents_of_each_french_format_are_read_clean_and_photographed(kind):
    rng = random.Random(f"reader-{kind}")
    misses = []
    for degradation in ("clean", "clean", "photo", "photo"):
        doc = make_identity_document(random_person(rng), kind, issue_date=date(2012, 6, 3), rng=rng)
        data = render_identity_side(doc, doc.mrz_side, rng=rng, degradation=degradation)
        reading = read_identity(data, today=TODAY)
        if reading is None or reading.facts.lines != doc.mrz_lines:
            misses.append(degradation)
    assert misses == []


@pytest.mark.slow
def test_the_side_without_mrz_gives_no_reading():
    rng = random.Random(7)
    doc = make_identity_document(
        random_person(rng), "passport", issue_date=date(2020, 1, 2), rng=rng
    )
    data = render_identity_side(doc, "verso", rng=rng, degradation="clean")
    assert read_identity(data, today=TODAY) is None


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["cnie", "cni1988"])
def test_a_side_whose_print_has_mrz_long_lines_but_no_mrz_gives_no_reading(kind):
    # The CNIe 2021 recto (issue 17) and the old card's verso: lines of print 36 or 44
    # characters long, which used to come back as garbage 2×36 or 2×44 with valid: false.
    side = "recto" if kind == "cnie" else "verso"
    readings = []
    for k in range(4):
        rng = random.Random(f"recto{kind}{k}")
        doc = make_identity_document(random_person(rng), kind, issue_date=date(2022, 1, 2), rng=rng)
        for degradation in ("clean", "scan"):
            data = render_identity_side(doc, side, rng=rng, degradation=degradation)
            readings.append(read_identity(data, today=TODAY))
    assert readings == [None] * 8


def _small_td1(seed: str, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, tuple[str, ...]]:
    """A TD1 verso scanned at 316 px wide, lines closer than our cards print them and a
    blur that runs each glyph into its neighbours and into the next line."""
    import cv2
    import numpy as np

    from ra_workbench.extraction.mrz import ocrb

    rng = random.Random(seed)
    doc = make_identity_document(random_person(rng), "cnie", issue_date=date(2020, 1, 2), rng=rng)
    card = Image.new("RGB", (1030, 650), (225, 230, 240))
    monkeypatch.setattr(ocrb, "LINE_PITCH", 1.25)
    pitch = 2.54 * 12
    ocrb.draw_mrz(card, doc.mrz_lines, ((1030 - 30 * pitch) / 2, 400), pitch, fill=(10, 10, 10))
    pixels = cv2.GaussianBlur(np.asarray(card), (0, 0), 2.6)
    pixels = cv2.resize(pixels, (316, 199), interpolation=cv2.INTER_AREA)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=80)
    return out.getvalue(), doc.mrz_lines


@pytest.mark.slow
@pytest.mark.parametrize("seed", ["t1.253160", "t1.253161", "t1.253162"])
def test_a_low_resolution_td1_is_read_as_its_three_lines(seed, monkeypatch):
    data, truth = _small_td1(seed, monkeypatch)
    reading = read_identity(data, today=TODAY)
    assert reading is not None
    assert reading.format == "TD1"
    assert reading.facts.lines == truth
    assert reading.valid


def _real_world(degradation: str, kind: str, seed: str) -> tuple[bytes, tuple[str, ...]]:
    rng = random.Random(seed)
    doc = make_identity_document(random_person(rng), kind, issue_date=date(2019, 1, 2), rng=rng)
    return render_identity_side(doc, doc.mrz_side, rng=rng, degradation=degradation), doc.mrz_lines


@pytest.mark.parametrize("degradation", REAL_WORLD_DEGRADATIONS)
def test_real_world_degradations_are_the_same_for_the_same_seed(degradation):
    first, _ = _real_world(degradation, "passport", "seeded")
    again, _ = _real_world(degradation, "passport", "seeded")
    other, _ = _real_world(degradation, "passport", "another seed")
    assert first == again
    assert first != other
    clean = Image.open(io.BytesIO(_real_world("clean", "passport", "seeded")[0])).convert("L")
    degraded = Image.open(io.BytesIO(first)).convert("L")
    assert degraded.size != clean.size or ImageChops.difference(degraded, clean).getbbox()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("degradation", "kind"),
    [("glare", "cnie"), ("hologram", "passport"), ("lamination", "cni1988"),
     ("recompressed", "passport")],
)  # fmt: skip
def test_mrz_under_glare_hologram_lamination_or_recompression_is_still_read(degradation, kind):
    data, truth = _real_world(degradation, kind, f"rw{degradation}{kind}0")
    reading = read_identity(data, today=TODAY)
    assert reading is not None
    assert reading.facts.lines == truth


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 180, 160)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _encrypted_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("case", "make"),
    [
        ("zero-byte file", lambda: b""),
        ("truncated JPEG", lambda: _jpeg()[:300]),
        ("30000x30000 PNG bomb", lambda: _png(30000, 30000)),
        ("HTML named .pdf", lambda: b"<!DOCTYPE html><html><body>%PDF-1.4 no</body></html>"),
        ("encrypted PDF", _encrypted_pdf),
    ],
)
def test_bad_input_gives_a_french_media_error_quickly(case, make):
    data = make()
    started = time.perf_counter()
    with pytest.raises(MediaError) as error:
        read_identity(data, today=TODAY)
    assert time.perf_counter() - started < BAD_INPUT_SECONDS, case
    assert str(error.value)  # an operator-facing (French) message, never empty


@pytest.mark.slow
def test_tesseract_is_asked_only_about_readings_whose_check_digits_fail():
    from ra_workbench.extraction.mrz import reader
    from ra_workbench.extraction.mrz.ocrb import render_line

    truth = ["IDFRABERTHIER<<<<<<<<<<<<<<<<<<<<<<<", "9409923102854CORINNE<<<<<<<6512068F4"]
    # An 8 read as a 3 in the card number: a digit for a digit, no look-alike rule can fix it.
    misread = [truth[0], "9409923102354CORINNE<<<<<<<6512068F4"]
    interpreted = reader.interpret(misread, None, TODAY)
    assert interpreted is not None
    fmt, lines, corrections, facts = interpreted
    assert not facts.valid
    ours = reader.Reading(
        lines=lines,
        raw_lines=misread,
        format=fmt,
        facts=facts,
        corrections=corrections,
        confidence=0.9,
        rotation=0,
        angle=0.0,
        bbox=(0, 0, 10, 10),
        strips=[render_line(line, 22) for line in truth],
    )
    better = reader._tesseract_second_opinion(ours, TODAY)
    assert better is not None
    assert better.facts.valid
    assert list(better.facts.lines) == truth
    assert better.engine == "ocrb+tesseract"
