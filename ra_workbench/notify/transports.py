"""How messages leave the outbox: e-mail over SMTP, SMS through a provider.

Both sit behind an interface; the defaults keep the message in the outbox (state « kept »)
when no transport is configured, so nothing is lost and staff still see what would have gone.
E-mail: `RA_WORKBENCH_SMTP_URL`, e.g. `smtp://user:pass@mail.example:587?starttls=1&from=
ae@example.fr` or `smtps://…:465`. SMS: no provider is wired yet; messages are kept.
"""

from __future__ import annotations

import abc
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_FROM = formataddr(("CertEurope - Autorité d'enregistrement", "ne-pas-repondre@localhost"))


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar"
    data: bytes


class MailTransport(abc.ABC):
    @abc.abstractmethod
    def send(
        self, *, recipient: str, subject: str, body: str, attachments: list[Attachment]
    ) -> bool:
        """True once handed to a server; False when the message is only kept."""


class KeepInOutbox(MailTransport):
    def send(
        self, *, recipient: str, subject: str, body: str, attachments: list[Attachment]
    ) -> bool:
        return False


class SMTPTransport(MailTransport):
    def __init__(self, url: str, timeout: float = 20.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("RA_WORKBENCH_SMTP_URL : smtp://hôte:port ou smtps://hôte:port")
        query = parse_qs(parts.query)
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.ssl else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = query.get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.sender = query.get("from", [DEFAULT_FROM])[0]
        self.timeout = timeout

    def send(
        self, *, recipient: str, subject: str, body: str, attachments: list[Attachment]
    ) -> bool:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="ra-workbench")
        message.set_content(body)
        for item in attachments:
            maintype, _, subtype = item.content_type.partition("/")
            message.add_attachment(
                item.data, maintype=maintype, subtype=subtype, filename=item.filename
            )
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.ssl:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.starttls:
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
        return True


class SMSProvider(abc.ABC):
    @abc.abstractmethod
    def send(self, *, recipient: str, body: str) -> bool:
        """True once accepted by the provider; False when the message is only kept."""


class KeepSMSInOutbox(SMSProvider):
    def send(self, *, recipient: str, body: str) -> bool:
        return False


def mail_transport(smtp_url: str | None) -> MailTransport:
    return SMTPTransport(smtp_url) if smtp_url else KeepInOutbox()


def sms_provider() -> SMSProvider:
    return KeepSMSInOutbox()
