"""Organisation, people and dossier as declared by the customer on the ordering portal."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ra_workbench.db import Base, CreatedAt, intpk, json_data
from ra_workbench.dossiers.labels import ROLE_LABELS_FR, PersonRole
from ra_workbench.dossiers.states import DossierStatus

if TYPE_CHECKING:
    from ra_workbench.accounts.models import User
    from ra_workbench.documents.models import Document


class Organisation(Base):
    """The organisation as declared on one dossier (a snapshot, not a registry)."""

    __tablename__ = "organisations"

    id: Mapped[intpk]
    siren: Mapped[str] = mapped_column(sa.String(32), index=True)
    name: Mapped[str] = mapped_column(sa.String(300), index=True)
    legal_form: Mapped[str] = mapped_column(sa.String(100), default="")
    manual_entry: Mapped[bool] = mapped_column(default=False)
    address: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class Dossier(Base):
    __tablename__ = "dossiers"

    id: Mapped[intpk]
    order_number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    revision: Mapped[int] = mapped_column(default=1)
    format: Mapped[str] = mapped_column(sa.String(40))
    submitted_at: Mapped[dt.datetime]
    received_at: Mapped[CreatedAt]
    updated_at: Mapped[CreatedAt]
    offer_code: Mapped[str] = mapped_column(sa.String(64))
    offer_label: Mapped[str] = mapped_column(sa.String(300), default="")
    price_ttc: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(10, 2))
    delivery_mode: Mapped[str] = mapped_column(sa.String(16))  # shipping | pickup
    dossier_type: Mapped[str] = mapped_column(sa.String(32), default="dematerialised")
    delivery_info: Mapped[str] = mapped_column(sa.Text, default="")
    payment_method: Mapped[str] = mapped_column(sa.String(16))  # card | transfer
    payment_amount_ttc: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(10, 2))
    payment_transaction_id: Mapped[str | None] = mapped_column(sa.String(100))
    documents_valid_attested: Mapped[bool] = mapped_column(default=False)
    certificates_ordered: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(
        sa.String(32), default=DossierStatus.PENDING.value, index=True
    )
    # Derived from the latest check run; the queue's tab.
    verdict: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    verdict_at: Mapped[dt.datetime | None]
    # Claim: the operator currently holding the dossier. Set with a conditional UPDATE.
    claimed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    claimed_at: Mapped[dt.datetime | None]
    # The manifest as received for the current revision, kept for the record.
    declared: Mapped[json_data]
    # Retention: a dossier that never led to a certificate had its contact and order data
    # erased (people, manifest, payment reference); the row stays with its order number.
    personal_data_erased_at: Mapped[dt.datetime | None]

    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    people: Mapped[list[Person]] = relationship(
        back_populates="dossier", cascade="all, delete-orphan", order_by="Person.id"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="dossier", order_by="Document.id"
    )
    revisions: Mapped[list[DossierRevision]] = relationship(
        back_populates="dossier", order_by="DossierRevision.revision"
    )
    signature_events: Mapped[list[SignatureEvent]] = relationship(
        back_populates="dossier", order_by="SignatureEvent.at"
    )
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])

    __table_args__ = (sa.Index("ix_dossiers_status_submitted", "status", "submitted_at"),)

    def person(self, role: str) -> Person | None:
        for person in self.people:
            if person.role == role:
                return person
        return None

    @property
    def holder(self) -> Person | None:
        return self.person(PersonRole.HOLDER)

    @property
    def legal_representative(self) -> Person | None:
        return self.person(PersonRole.LEGAL_REPRESENTATIVE)

    @property
    def mandataire(self) -> Person | None:
        return self.person(PersonRole.MANDATAIRE)

    def current_documents(self) -> list[Document]:
        return [d for d in self.documents if not d.superseded]


class Person(Base):
    """A person with a role on one dossier, as declared."""

    __tablename__ = "people"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(32))
    civility: Mapped[str] = mapped_column(sa.String(8), default="")
    first_name: Mapped[str] = mapped_column(sa.String(200), default="")
    last_name: Mapped[str] = mapped_column(sa.String(200), default="", index=True)
    email: Mapped[str] = mapped_column(sa.String(320), default="")
    mobile: Mapped[str] = mapped_column(sa.String(40), default="")
    address: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Holder only: the holder is the legal representative (fields copied from it).
    same_as_legal_representative: Mapped[bool] = mapped_column(default=False)
    activation_code_channel: Mapped[str | None] = mapped_column(sa.String(8))
    # Mandataire only: declared a valid mandate already on file with CertEurope.
    has_valid_mandate: Mapped[bool | None]

    dossier: Mapped[Dossier] = relationship(back_populates="people")

    __table_args__ = (sa.UniqueConstraint("dossier_id", "role", name="uq_people_dossier_role"),)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class DossierRevision(Base):
    """Each export of the order received: what arrived, from where, and what it replaced."""

    __tablename__ = "dossier_revisions"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    revision: Mapped[int]
    received_at: Mapped[CreatedAt]
    source: Mapped[str] = mapped_column(sa.String(32))  # cli | api | inbox | demo
    package_name: Mapped[str] = mapped_column(sa.String(300), default="")
    summary: Mapped[json_data]

    dossier: Mapped[Dossier] = relationship(back_populates="revisions")

    __table_args__ = (
        sa.UniqueConstraint("dossier_id", "revision", name="uq_dossier_revisions_dossier_rev"),
    )


class SignatureEvent(Base):
    """GoSign signature + facial identity check outcome for one signer (latest `at` stands)."""

    __tablename__ = "signature_events"

    id: Mapped[intpk]
    dossier_id: Mapped[int] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    signer: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16))
    identity_verification: Mapped[str] = mapped_column(sa.String(32))
    evidence_id: Mapped[str] = mapped_column(sa.String(200))
    at: Mapped[dt.datetime]
    received_at: Mapped[CreatedAt]
    payload: Mapped[json_data]

    dossier: Mapped[Dossier] = relationship(back_populates="signature_events")


# The vocabulary lives in labels.py (database-free, for the pure rules); code that already
# works with the models finds it here as well.
__all__ = [
    "ROLE_LABELS_FR",
    "Dossier",
    "DossierRevision",
    "Organisation",
    "Person",
    "PersonRole",
    "SignatureEvent",
]
