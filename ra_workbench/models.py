"""Import every domain's models so that metadata (and Alembic) sees all tables."""

from ra_workbench.accounts.models import Offer, User
from ra_workbench.audit.models import AuditEvent
from ra_workbench.certificates.models import Certificate
from ra_workbench.checks.models import CheckResult, CheckRun
from ra_workbench.delivery.models import Appointment, CallAttempt, Handover, PickupSlot, Shipment
from ra_workbench.documents.models import Document, Extraction
from ra_workbench.dossiers.models import (
    Dossier,
    DossierRevision,
    Organisation,
    Person,
    SignatureEvent,
)
from ra_workbench.issuance.models import IssuanceRequest
from ra_workbench.notify.models import OutboxMessage
from ra_workbench.review.models import Decision, QualityReview
from ra_workbench.revocation.models import RevocationRequest

__all__ = [
    "Appointment",
    "AuditEvent",
    "CallAttempt",
    "Certificate",
    "CheckResult",
    "CheckRun",
    "Decision",
    "Document",
    "Dossier",
    "DossierRevision",
    "Extraction",
    "Handover",
    "IssuanceRequest",
    "Offer",
    "Organisation",
    "OutboxMessage",
    "Person",
    "PickupSlot",
    "QualityReview",
    "RevocationRequest",
    "Shipment",
    "SignatureEvent",
    "User",
]
