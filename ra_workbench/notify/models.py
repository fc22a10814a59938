"""The outbox: every message to a customer, stored with its state before it is sent."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ra_workbench.db import Base, CreatedAt, intpk, json_list


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"

    id: Mapped[intpk]
    dossier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("dossiers.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(8))  # email | sms
    recipient: Mapped[str] = mapped_column(sa.String(320))
    template: Mapped[str] = mapped_column(sa.String(64))
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    # Idempotency: the same notification for the same reason is stored once.
    dedup_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    # Files sent with the message ({filename, content_type, content in base64}): the
    # appointment's .ics as it was when the message was written.
    attachments: Mapped[json_list]
    # The activation code is never stored: it is derived from this serial at sending time.
    certificate_serial: Mapped[str | None] = mapped_column(sa.String(80))
    created_at: Mapped[CreatedAt]
    sent_at: Mapped[dt.datetime | None]
    # Retention: the body and attachments are gone, the metadata (who, which template,
    # when, state) stays.
    body_shortened_at: Mapped[dt.datetime | None]
