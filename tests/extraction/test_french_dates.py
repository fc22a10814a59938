"""The French date parser: what registries, mandates and OCR give us."""

from __future__ import annotations

from datetime import date

import pytest

from ra_workbench.extraction.kbis.dates import (
    date_after,
    find_date_after,
    find_dates,
    french_date_words,
    month_number,
    parse_french_date,
)

A_JOUR = [r"(?<![a-z])jour\s*(?:au|du)(?![a-z])"]


def test_kbis_date_written_in_words_with_premier_is_read() -> None:
    assert parse_french_date("1er mars 2026") == date(2026, 3, 1)


def test_date_written_in_words_is_read() -> None:
    assert parse_french_date("6 novembre 2024") == date(2024, 11, 6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1er janvier 2025", date(2025, 1, 1)),
        ("28 février 2024", date(2024, 2, 28)),
        ("29 février 2024", date(2024, 2, 29)),
        ("15 avril 2023", date(2023, 4, 15)),
        ("8 mai 2026", date(2026, 5, 8)),
        ("30 juin 2025", date(2025, 6, 30)),
        ("14 juillet 2025", date(2025, 7, 14)),
        ("15 août 2024", date(2024, 8, 15)),
        ("2 septembre 2024", date(2024, 9, 2)),
        ("31 octobre 2024", date(2024, 10, 31)),
        ("25 décembre 2025", date(2025, 12, 25)),
        ("PREMIER MARS 2026", date(2026, 3, 1)),
        ("1ER MARS 2026", date(2026, 3, 1)),
        ("06 NOVEMBRE 2024", date(2024, 11, 6)),
    ],
)
def test_every_month_written_in_words_is_read(text: str, expected: date) -> None:
    assert parse_french_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("06/11/2024", date(2024, 11, 6)),
        ("6/11/2024", date(2024, 11, 6)),
        ("06.11.2024", date(2024, 11, 6)),
        ("06-11-2024", date(2024, 11, 6)),
        ("06 / 11 / 2024", date(2024, 11, 6)),
        ("06/11/24", date(2024, 11, 6)),
        ("12/05/70", date(1970, 5, 12)),
        ("2024-11-06", date(2024, 11, 6)),
    ],
)
def test_numeric_dates_are_read_day_first(text: str, expected: date) -> None:
    assert parse_french_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ler mars 2026", date(2026, 3, 1)),  # "1er" with the 1 read as l
        ("Ier mars 2026", date(2026, 3, 1)),  # ... or as I
        ("1 er mars 2026", date(2026, 3, 1)),
        ("1° mars 2026", date(2026, 3, 1)),
        ("6 fevrier 2024", date(2024, 2, 6)),  # accent lost
        ("6 fe´vrier 2024", date(2024, 2, 6)),  # accent split off the letter
        ("6 fvrier 2024", date(2024, 2, 6)),  # accented letter dropped
        ("6 d6cembre 2022", date(2022, 12, 6)),  # é read as 6
        ("15 aout 2024", date(2024, 8, 15)),
        ("6 novembre 2O24", date(2024, 11, 6)),  # 0 read as O
        ("6novembre2024", date(2024, 11, 6)),  # spaces lost
        ("6 nov. 2024", date(2024, 11, 6)),
        ("6 févr. 2024", date(2024, 2, 6)),
        ("6 sept 2024", date(2024, 9, 6)),
    ],
)
def test_ocr_damaged_dates_are_still_read(text: str, expected: date) -> None:
    assert parse_french_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "31/02/2024",  # no such day
        "30 février 2024",
        "29 février 2023",
        "13/13/2024",
        "6 brumaire 2024",  # not a month of ours
        "6 2024",
        "novembre 2024",  # no day
        "le 6 novembre",  # no year
        "6 novembre 1850",  # out of range
        "",
        "SIREN 518 452 750",
    ],
)
def test_what_is_no_date_gives_none(text: str) -> None:
    assert parse_french_date(text) is None


def test_a_text_with_more_than_a_date_is_not_a_date() -> None:
    assert parse_french_date("le 5 mai 1970 à Lyon") is None
    assert [f.value for f in find_dates("le 5 mai 1970 à Lyon")] == [date(1970, 5, 5)]


def test_month_names_that_ocr_could_confuse_are_not_guessed() -> None:
    assert month_number("mai") == 5
    assert month_number("mal") == 5
    assert month_number("jui") is None  # juin or juillet
    assert month_number("ma") is None
    assert month_number("table") is None


def test_every_date_of_a_text_is_found_in_order() -> None:
    found = find_dates("Immatriculé le 12/03/2010, à jour au 1er mars 2026, né le 2024-01-31")
    assert [(f.value, f.written) for f in found] == [
        (date(2010, 3, 12), "numeric"),
        (date(2026, 3, 1), "words"),
        (date(2024, 1, 31), "iso"),
    ]


def test_the_a_jour_au_date_is_the_one_after_its_label() -> None:
    text = (
        "Date d'immatriculation 12/03/2010\n"
        "EXTRAIT D'IMMATRICULATION PRINCIPALE à jour au 1er mars 2026\n"
        "Date et lieu de naissance Le 12/05/1970 à Lyon"
    )
    found = find_date_after(text, A_JOUR)
    assert found is not None
    assert (found.value, found.written) == (date(2026, 3, 1), "words")


def test_the_a_jour_au_date_survives_a_lost_accent_and_a_line_break() -> None:
    assert date_after("a jour au\n06/11/2024", A_JOUR) == date(2024, 11, 6)


def test_a_date_too_far_from_its_label_is_not_taken() -> None:
    assert date_after("à jour au" + " x" * 40 + " 06/11/2024", A_JOUR) is None


def test_a_number_between_label_and_date_breaks_the_link() -> None:
    assert date_after("à jour au 3 exemplaires 06/11/2024", A_JOUR) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 3, 1), "1er mars 2026"),
        (date(2024, 11, 6), "6 novembre 2024"),
        (date(2024, 2, 14), "14 février 2024"),
        (date(2024, 8, 2), "2 août 2024"),
        (date(2024, 12, 31), "31 décembre 2024"),
    ],
)
def test_dates_print_the_way_the_registry_writes_them_and_read_back(
    value: date, expected: str
) -> None:
    assert french_date_words(value) == expected
    assert parse_french_date(expected) == value


def test_premier_read_as_ter_by_ocr_is_still_the_first() -> None:
    assert parse_french_date("ter décembre 2025") == date(2025, 12, 1)
