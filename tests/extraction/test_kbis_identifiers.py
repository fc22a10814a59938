"""SIREN and SIRET keys, La Poste's exception included."""

from __future__ import annotations

import random

import pytest

from ra_workbench.extraction.kbis.identifiers import (
    digits_only,
    format_siren,
    luhn_key,
    luhn_valid,
    siren_is_valid,
    siret_is_valid,
)
from ra_workbench.synth.kbis import make_siren


@pytest.mark.parametrize("siren", ["732829320", "552100554", "542107651", "443061841"])
def test_real_sirens_have_a_valid_luhn_key(siren: str) -> None:
    assert siren_is_valid(siren)


@pytest.mark.parametrize("siren", ["732829321", "552100555", "123456789"])
def test_a_wrong_key_is_refused(siren: str) -> None:
    assert not siren_is_valid(siren)


@pytest.mark.parametrize("siren", ["73282932", "7328293200", "73282932O", "732 829 320", ""])
def test_a_siren_is_exactly_nine_ascii_digits(siren: str) -> None:
    assert not siren_is_valid(siren)


def test_la_poste_siren_is_valid() -> None:
    assert siren_is_valid("356000000")


def test_la_poste_sirets_are_valid_when_their_digit_sum_is_a_multiple_of_five() -> None:
    post_office = "35600000049837"  # digit sum 45; fails Luhn
    assert not luhn_valid(post_office)
    assert siret_is_valid(post_office)
    assert siret_is_valid("35600000000048")  # the head office passes Luhn
    assert not siret_is_valid("35600000049838")


def test_the_digit_sum_rule_is_la_postes_alone() -> None:
    other = "73282932000004"
    assert sum(map(int, other)) % 5 == 0
    assert not luhn_valid(other)
    assert not siret_is_valid(other)


def test_ordinary_sirets_take_a_luhn_key() -> None:
    assert siret_is_valid("73282932000074")
    assert not siret_is_valid("73282932000075")
    assert not siret_is_valid("7328293200007")


def test_luhn_key_completes_any_number() -> None:
    rng = random.Random(3)
    for _ in range(200):
        head = "".join(str(rng.randrange(10)) for _ in range(8))
        assert luhn_valid(head + luhn_key(head))
        assert sum(luhn_valid(head + str(d)) for d in range(10)) == 1


def test_generated_sirens_are_valid() -> None:
    rng = random.Random(11)
    assert all(siren_is_valid(make_siren(rng)) for _ in range(500))


def test_sirens_print_in_groups_of_three_and_read_back() -> None:
    assert format_siren("518452750") == "518 452 750"
    assert digits_only("518 452 750 R.C.S. Nantes") == "518452750"
