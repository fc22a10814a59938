"""The roles a dossier's people hold and their French names.

Free of the database, so that pure code (the rules catalogue) can name a role without
importing the ORM models.
"""

from __future__ import annotations


class PersonRole:
    HOLDER = "holder"
    LEGAL_REPRESENTATIVE = "legal_representative"
    MANDATAIRE = "mandataire"
    ALL = (HOLDER, LEGAL_REPRESENTATIVE, MANDATAIRE)


ROLE_LABELS_FR = {
    PersonRole.HOLDER: "Porteur",
    PersonRole.LEGAL_REPRESENTATIVE: "Représentant légal",
    PersonRole.MANDATAIRE: "Mandataire de certification",
}
