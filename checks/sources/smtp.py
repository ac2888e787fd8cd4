"""SMTP mail adapter: notifications to merchants and staff (R-E4 change notices, alerts).

A thin, typed wrapper over ``smtplib``: explicit server, optional STARTTLS and login, a timeout,
and a result instead of an exception when the mail could not be handed over.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol


@dataclass(frozen=True)
class MailResult:
    """Whether the server accepted a message, and for whom."""

    message_id: str
    accepted: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        """At least one recipient accepted and no error."""
        return self.error is None and bool(self.accepted)

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "message_id": self.message_id,
            "accepted": list(self.accepted),
            "refused": list(self.refused),
            "error": self.error,
        }


class Mailer(Protocol):
    """Anything that can deliver a plain-text mail."""

    def send(self, to: str | Sequence[str], subject: str, body: str) -> MailResult: ...


class SmtpMailer:
    """Sends plain-text mail through one SMTP server."""

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str,
        starttls: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        """``starttls`` upgrades the session (with ``ssl_context``, default: system trust)."""
        self.host = host
        self.port = port
        self.sender = sender
        self.starttls = starttls
        self.ssl_context = ssl_context
        self.username = username
        self.password = password
        self.timeout = timeout

    def compose(self, to: Sequence[str], subject: str, body: str) -> EmailMessage:
        """The message as it will be sent (Message-ID and Date set)."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(body)
        return message

    def send(self, to: str | Sequence[str], subject: str, body: str) -> MailResult:
        """Hand the mail to the server; connection and protocol failures come back as ``error``."""
        recipients = [to] if isinstance(to, str) else list(to)
        message = self.compose(recipients, subject, body)
        message_id = str(message["Message-ID"])
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=self.ssl_context or ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(message, self.sender, recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            return MailResult(message_id, refused=tuple(exc.recipients),
                              error="all recipients refused")
        except (smtplib.SMTPException, OSError) as exc:
            return MailResult(message_id, error=f"{type(exc).__name__}: {exc}")
        accepted = tuple(r for r in recipients if r not in refused)
        return MailResult(message_id, accepted, tuple(refused))
