"""Who is whom: names and e-mails seen through spelling, part by part (dossiers.people)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ra_workbench.dossiers.people import (
    conflicting_person,
    folded_email,
    name_parts,
    same_name,
    unmask,
)

CYRILLIC_ER = "\u0420"  # Р, looks like a Latin P
CYRILLIC_IE = "\u0435"  # е, looks like a Latin e
ZERO_WIDTH_SPACE = "\u200b"


@dataclass
class Someone:
    first_name: str
    last_name: str
    email: str = ""
    role: str = "holder"


OLIVIA = Someone("Olivia", "Perrin", "olivia.perrin@certeurope.example")


@pytest.mark.parametrize(
    ("typed", "seen"),
    [
        (f"{CYRILLIC_ER}ERRIN", "PERRIN"),
        (f"P{CYRILLIC_IE}rrin", "Perrin"),
        (f"PER{ZERO_WIDTH_SPACE}RIN", "PERRIN"),
        ("PER\u00adRIN", "PERRIN"),  # soft hyphen
        ("\ufeffPERRIN\u2060", "PERRIN"),  # byte-order mark, word joiner
        ("Ｐｅｒｒｉｎ", "Perrin"),  # full width
        ("\U0001d40f\U0001d404RRIN", "PERRIN"),  # mathematical bold
        ("\u0399van", "Ivan"),  # Greek capital iota
        ("\u0406van", "Ivan"),  # Cyrillic capital І: TR39's prototype is l, a capital reads I
        ("Hélène", "Hélène"),  # Latin accents are the MRZ folding's business
        ("Perrin\tDupont", "Perrin Dupont"),
    ],
)
def test_unmasking_shows_what_a_reader_sees(typed: str, seen: str) -> None:
    assert unmask(typed) == seen


def test_names_fold_to_their_mrz_parts_each_also_whole() -> None:
    assert name_parts("PERRIN-DUPONT") == {"PERRIN", "DUPONT", "PERRINDUPONT"}
    assert name_parts("Olivia Marie") == {"OLIVIA", "MARIE", "OLIVIAMARIE"}
    assert name_parts("d'Artagnan") == {"ARTAGNAN", "DARTAGNAN"}
    assert name_parts("Le Gall") == {"GALL", "LEGALL"}
    assert name_parts("Lefèvre") == {"LEFEVRE"}
    assert name_parts("") == set()


@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [
        ("OLIVIA MARIE", "PERRIN-DUPONT"),  # hyphenated surname, an extra given name
        ("OLIVIA", "PERRIN DUPONT"),
        ("OLIVIA MARIE", "PERRIN"),  # an extra given name
        ("OLIVIA", f"{CYRILLIC_ER}ERRIN"),  # a Cyrillic look-alike
        ("OLIVIA", f"PER{ZERO_WIDTH_SPACE}RIN"),
        ("PERRIN", "OLIVIA"),  # the form filled the other way round
        ("olivia", "perrin"),
    ],
)
def test_olivia_perrin_is_the_same_person_however_her_name_is_spelt(
    first_name: str, last_name: str
) -> None:
    assert same_name("Olivia", "Perrin", first_name, last_name)


@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [
        ("MARIE", "DUPONT"),
        ("CLAIRE", "PERRIN"),  # a namesake, a relative: the surname alone is not enough
        ("OLIVIA", "DUPONT"),  # the given name alone is not enough
        ("OLIVIA", "PERRINE"),  # a part is shared whole, never as a prefix
        ("", "PERRIN"),
    ],
)
def test_olivia_perrin_is_not_someone_who_merely_shares_a_part(
    first_name: str, last_name: str
) -> None:
    assert not same_name("Olivia", "Perrin", first_name, last_name)


def test_surname_particles_and_initials_are_never_shared_on_their_own() -> None:
    assert not same_name("Marie", "De Gaulle", "MARIE", "DE LA TOUR")
    assert not same_name("Marie", "D'Ornano", "MARIE", "D'AUBIGNE")
    assert same_name("Marie", "de la Tour", "MARIE", "DELATOUR")


def test_emails_compare_after_the_same_unmasking() -> None:
    assert folded_email(" Olivia.Perrin@CertEurope.example ") == OLIVIA.email
    assert folded_email(f"olivia.perrin{ZERO_WIDTH_SPACE}@certeurope.example") == OLIVIA.email
    assert folded_email(f"olivia.p{CYRILLIC_IE}rrin@certeurope.example") == OLIVIA.email
    assert folded_email(None) == ""


def test_the_conflicting_person_is_found_by_email_or_name_among_the_dossiers_roles() -> None:
    by_email = Someone("X", "Y", f"olivia.perrin{ZERO_WIDTH_SPACE}@certeurope.example")
    by_name = Someone("OLIVIA MARIE", "PERRIN-DUPONT", role="mandataire")
    stranger = Someone("MARIE", "DUPONT", "m.dupont@example.fr")
    assert conflicting_person([stranger, by_email], OLIVIA) is by_email
    assert conflicting_person([stranger, by_name], OLIVIA) is by_name
    assert conflicting_person([stranger], OLIVIA) is None
    assert conflicting_person([Someone("OLIVIA", "PERRIN", role="witness")], OLIVIA) is None
