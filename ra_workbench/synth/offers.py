"""The offers the synthetic packages order, with their prices: what the demo seeds into the
offers table (`demo.ensure_offers`) so that payment.amount finds the price it compares."""

from __future__ import annotations

from decimal import Decimal

OFFERS = (
    ("PP-RGS2-USB", "Certificat personne physique sur cle USB", Decimal("228.00")),
    ("PP-EIDAS-USB", "Certificat qualifie eIDAS personne physique sur cle USB", Decimal("294.00")),
)
# « À retirer en personne » comes at an extra cost (guide, section 4): an offers-table row of
# its own, named by rules/checks.toml [payment] pickup_surcharge_offer.
PICKUP_SURCHARGE = (
    "OPT-RETRAIT",
    "Frais de remise en main propre (a retirer en personne)",
    Decimal("60.00"),
)
PICKUP_FEE = PICKUP_SURCHARGE[2]
