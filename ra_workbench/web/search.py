"""The search across the journey: the validation queue finds dossiers by what review knows
(order number, SIREN, names); the shell teaches it what later domains know, since review may
not import them. One search, one code path: the top bar, the queue's filter and its JSON all
go through `review.queue`."""

from __future__ import annotations

import sqlalchemy as sa

from ra_workbench.delivery.models import Shipment
from ra_workbench.delivery.service import tracking_number_valid
from ra_workbench.review.queue import also_search


def by_tracking_number(term: str) -> sa.Select[int] | None:
    """The shipped dossier whose tracking number this is, typed as on the label or read out
    on the phone (« 8r 1234 5678 901 »); None for anything else."""
    number = "".join(term.split()).upper()
    if not tracking_number_valid(number):
        return None
    return sa.select(Shipment.dossier_id).where(Shipment.tracking_number == number)


def wire_search() -> None:
    also_search(by_tracking_number)
