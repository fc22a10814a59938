"""The synthetic identity generator: right MRZs, reproducible, realistic sizes."""

from __future__ import annotations

import io
import random
from datetime import date

import pytest
from PIL import Image

from ra_workbench.extraction.mrz import codec
from ra_workbench.synth.identity import (
    DEGRADATIONS,
    KINDS,
    MAX_OUTPUT_BYTES,
    IdentityPerson,
    make_identity_document,
    random_person,
    render_identity_side,
)

TODAY = date(2026, 1, 15)


def test_random_people_have_plain_ascii_names_and_past_birth_dates():
    rng = random.Random(1)
    for _ in range(200):
        person = random_person(rng)
        assert person.sex in ("F", "M")
        assert person.birth_date < TODAY
        for name in (person.surname, *person.given_names):
            assert name.isascii()
            assert name == name.upper()


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_document_carries_a_valid_mrz_of_its_format(kind):
    rng = random.Random(kind)
    for _ in range(50):
        person = random_person(rng)
        doc = make_identity_document(person, kind, issue_date=date(2015, 4, 9), rng=rng)
        facts = codec.parse_mrz(doc.mrz_lines, today=TODAY)
        assert facts.valid, doc.mrz_lines
        assert facts.format == doc.mrz_format
        assert facts.birth_date == person.birth_date
        assert facts.expiry_date == doc.expiry_date


def test_old_card_number_is_issue_month_office_and_sequence():
    rng = random.Random(3)
    person = IdentityPerson("DURAND", ("LUC",), "M", date(1970, 5, 6))
    doc = make_identity_document(person, "cni1988", issue_date=date(1999, 11, 20), rng=rng)
    assert doc.document_number.startswith("9911")
    assert len(doc.document_number) == 12
    assert doc.expiry_date == date(2014, 10, 31)  # adult: 15 years from November 1999


def test_the_same_seed_gives_the_same_image():
    def render(seed: int) -> bytes:
        rng = random.Random(seed)
        doc = make_identity_document(
            random_person(rng), "cnie", issue_date=date(2022, 1, 3), rng=rng
        )
        return render_identity_side(doc, "verso", rng=rng, degradation="photo")

    assert render(11) == render(11)
    assert render(11) != render(12)


@pytest.mark.parametrize("degradation", DEGRADATIONS)
def test_every_degradation_yields_a_decodable_image_under_the_portal_limit(degradation):
    rng = random.Random(degradation)
    doc = make_identity_document(
        random_person(rng), "passport", issue_date=date(2020, 2, 2), rng=rng
    )
    data = render_identity_side(doc, "recto", rng=rng, degradation=degradation)
    assert len(data) <= MAX_OUTPUT_BYTES
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    if degradation == "lowres":
        assert max(image.size) <= 600


def test_png_output_is_available_and_still_under_the_limit():
    rng = random.Random(5)
    doc = make_identity_document(
        random_person(rng), "cni1988", issue_date=date(2001, 2, 3), rng=rng
    )
    data = render_identity_side(doc, "recto", rng=rng, degradation="photo", fmt="png")
    assert data.startswith(b"\x89PNG")
    assert len(data) <= MAX_OUTPUT_BYTES


def test_unknown_side_or_degradation_is_refused():
    rng = random.Random(0)
    doc = make_identity_document(random_person(rng), "cnie", issue_date=date(2022, 1, 3), rng=rng)
    with pytest.raises(ValueError, match="side"):
        render_identity_side(doc, "edge", rng=rng)
    with pytest.raises(ValueError, match="degradation"):
        render_identity_side(doc, "verso", rng=rng, degradation="burnt")
