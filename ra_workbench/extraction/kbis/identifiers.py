"""French company identifiers: SIREN (9 digits) and SIRET (14 digits), both with a Luhn key.

La Poste is the one documented exception: its SIRETs (one per post office, far more than
the Luhn key leaves room for under one SIREN) are valid when the sum of their digits is a
multiple of 5; its SIREN 356000000 and its head office SIRET 356 000 000 00048 also pass
Luhn. Pure functions, no I/O.
"""

from __future__ import annotations

import re

LA_POSTE_SIREN = "356000000"

_DIGITS = re.compile(r"[0-9]+")


def luhn_sum(digits: str) -> int:
    """Luhn sum: from the right, every second digit doubled (minus 9 when over 9)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total


def luhn_valid(digits: str) -> bool:
    return bool(digits) and digits.isascii() and digits.isdigit() and luhn_sum(digits) % 10 == 0


def luhn_key(partial: str) -> str:
    """The digit that, appended to `partial`, makes a valid Luhn number."""
    return str((10 - luhn_sum(partial + "0") % 10) % 10)


def siren_is_valid(siren: str) -> bool:
    """Nine ASCII digits with a valid Luhn key (La Poste's SIREN has one too)."""
    if len(siren) != 9 or not (siren.isascii() and siren.isdigit()):
        return False
    return siren == LA_POSTE_SIREN or luhn_valid(siren)


def siret_is_valid(siret: str) -> bool:
    """Fourteen ASCII digits: a Luhn key, or for La Poste a digit sum multiple of 5."""
    if len(siret) != 14 or not (siret.isascii() and siret.isdigit()):
        return False
    if luhn_valid(siret):
        return True
    return siret.startswith(LA_POSTE_SIREN) and sum(int(c) for c in siret) % 5 == 0


def digits_only(text: str) -> str:
    """The digits of an identifier as printed: "518 452 750" → "518452750"."""
    return "".join(_DIGITS.findall(text))


def format_siren(siren: str) -> str:
    """The printed form, in groups of three: "518452750" → "518 452 750"."""
    return " ".join(siren[i : i + 3] for i in range(0, len(siren), 3))
