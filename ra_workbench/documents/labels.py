"""The documents' vocabulary: their types and the French names people read.

Free of the database, so that pure code (the rules catalogue and engine) can name a
document type without importing the ORM models.
"""

from __future__ import annotations


class DocumentType:
    KBIS = "kbis"
    IDENTITY = "identity"
    PAYMENT_PROOF = "payment_proof"
    MANDATE = "mandate"
    ALL = (KBIS, IDENTITY, PAYMENT_PROOF, MANDATE)


DOCUMENT_TYPE_LABELS_FR = {
    DocumentType.KBIS: "Extrait Kbis ou équivalent",
    DocumentType.IDENTITY: "Pièce d'identité",
    DocumentType.PAYMENT_PROOF: "Preuve de paiement",
    DocumentType.MANDATE: "Mandat",
}

# Kinds of identity document, as the checks and the evidence record name them.
IDENTITY_TYPE_LABELS_FR = {
    "cni": "Carte nationale d'identité (ancien modèle)",
    "cnie": "Carte nationale d'identité électronique",
    "identity_card": "Carte d'identité étrangère",
    "passport": "Passeport",
    "residence_permit": "Titre de séjour",
    "visa": "Visa",
    "unknown": "Document non reconnu",
}
