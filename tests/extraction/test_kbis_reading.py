"""read_kbis on generated files: text-layer PDFs of every kind, and (few, slow) scans."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import pytest

from ra_workbench.extraction.kbis import KbisReading, read_kbis
from ra_workbench.extraction.kbis.normalize import fold
from ra_workbench.synth.kbis import (
    KINDS,
    CompanyFacts,
    Manager,
    printed_managers,
    random_company,
    render_kbis_image,
    render_kbis_pdf,
)


def _people(managers: tuple[Manager, ...]) -> list[tuple[str, str, str]]:
    return sorted((fold(m.role), m.surname, fold(m.given_names)) for m in managers)


def _read_people(reading: KbisReading) -> list[tuple[str, str, str]]:
    return sorted(
        (fold(m.role), m.surname, fold(" ".join(m.given_names))) for m in reading.managers
    )


def _assert_read_right(facts: CompanyFacts, data: bytes) -> KbisReading:
    reading = read_kbis(data)
    assert reading.kind == facts.kind
    assert reading.date == facts.updated_on
    assert reading.siren == facts.siren
    assert reading.name == facts.name
    assert _read_people(reading) == _people(printed_managers(facts))
    return reading


@pytest.mark.parametrize("kind", KINDS)
def test_text_layer_extract_of_each_kind_is_read_right(kind: str) -> None:
    rng = random.Random(f"text-{kind}")
    for _ in range(5):
        facts = random_company(rng, updated_on=date(2026, 3, 1), kind=kind)
        _assert_read_right(facts, render_kbis_pdf(facts, rng=rng))


def test_text_layer_kbis_is_read_from_its_text_layer_quickly() -> None:
    rng = random.Random(4)
    facts = random_company(rng, updated_on=date(2024, 11, 6))
    reading = read_kbis(render_kbis_pdf(facts, rng=rng))
    assert reading.source == "text_layer"
    assert reading.timings["total"] < 0.5  # generous: the target is 50 ms on an idle core


def test_declared_legal_representative_is_found_among_the_managers() -> None:
    rng = random.Random(9)
    facts = random_company(
        rng, updated_on=date(2026, 1, 15), legal_representative=("LE GALL", "JEAN-PIERRE")
    )
    reading = read_kbis(render_kbis_pdf(facts, rng=rng))
    first = reading.managers[0]
    assert (first.surname, first.given_names) == ("LE GALL", ("Jean-Pierre",))


def test_kbis_with_siren_being_allocated_reads_as_pending() -> None:
    rng = random.Random(12)
    facts = replace(random_company(rng, updated_on=date(2026, 2, 2)), siren="")
    reading = read_kbis(render_kbis_pdf(facts, rng=rng))
    assert (reading.siren, reading.siren_pending) == (None, True)
    assert reading.to_json()["siren"] is None


def test_reading_serialises_to_the_json_the_checks_consume() -> None:
    rng = random.Random(2)
    facts = random_company(rng, updated_on=date(2026, 3, 1))
    out = read_kbis(render_kbis_pdf(facts, rng=rng)).to_json()
    assert out["date"] == "2026-03-01"
    assert out["siren"] == facts.siren
    assert {"kind", "date", "siren", "name", "legal_form", "managers"} <= out.keys()
    assert all(
        isinstance(m["given_names"], list) and {"role", "surname"} <= m.keys()
        for m in out["managers"]
    )


@pytest.mark.slow
def test_scanned_kbis_without_text_layer_is_read_by_ocr() -> None:
    rng = random.Random(21)
    facts = random_company(rng, updated_on=date(2026, 3, 1), kind="kbis")
    data = render_kbis_pdf(facts, rng=rng, scanned=True)
    reading = _assert_read_right(facts, data)
    assert reading.source == "ocr"


@pytest.mark.slow
def test_photographed_rne_attestation_as_jpeg_is_read_by_ocr() -> None:
    rng = random.Random(33)
    facts = random_company(rng, updated_on=date(2025, 12, 1), kind="rne")
    data = render_kbis_image(facts, rng=rng, fmt="JPEG")
    assert data[:3] == b"\xff\xd8\xff"
    assert _assert_read_right(facts, data).source == "ocr"
