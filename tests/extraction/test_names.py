"""Names compared the way ICAO 9303 writes them in the MRZ (extraction.names)."""

from __future__ import annotations

import pytest

from ra_workbench.extraction.names import compact, first_name_among, fold


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Jean-Pierre", "JEAN PIERRE"),
        ("d'Artagnan", "DARTAGNAN"),
        ("D’ARTAGNAN", "DARTAGNAN"),
        ("Éloïse  Müller", "ELOISE MULLER"),
        ("Lætitia", "LAETITIA"),
        ("JEAN<PIERRE", "JEAN PIERRE"),
        ("  le gall ", "LE GALL"),
    ],
)
def test_typed_names_fold_to_their_mrz_spelling(typed: str, folded: str) -> None:
    assert fold(typed) == folded


def test_spaces_and_hyphens_do_not_separate_a_surname_from_itself() -> None:
    assert compact("LE GALL") == compact("Le-Gall") == compact("LEGALL")


@pytest.mark.parametrize(
    ("declared", "given_names", "found"),
    [
        ("Claire", "CLAIRE MARIE", True),
        ("Marie", ["CLAIRE", "MARIE"], True),
        ("Jean-Pierre", "JEAN PIERRE LOUIS", True),
        ("Pierre Louis", "JEAN PIERRE LOUIS", True),
        ("Jean Louis", "JEAN PIERRE LOUIS", False),
        ("Clair", "CLAIRE", False),
        ("", "CLAIRE", False),
    ],
)
def test_the_declared_first_name_must_be_among_the_given_names(
    declared: str, given_names: str | list[str], found: bool
) -> None:
    assert first_name_among(declared, given_names) is found
