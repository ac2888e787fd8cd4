"""A local SMTP server (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the server got it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    used_tls: bool

    @property
    def message(self) -> EmailMessage:
        """The parsed message."""
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


class _Collector:
    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(ReceivedMail(
            envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content),
            session.ssl is not None,
        ))
        return "250 Message accepted for delivery"


class _EphemeralController(Controller):
    """aiosmtpd binds ``port``; we hand it an already-bound socket on port 0 instead."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        super().__init__(handler, hostname=HOST, port=sock.getsockname()[1], **kwargs)
        self._sock = sock

    def _create_server(self):  # type: ignore[no-untyped-def]
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class SmtpServer:
    """SMTP on 127.0.0.1, ephemeral port; ``tls_context`` offers STARTTLS.

    ``messages`` lists every ``ReceivedMail``; ``refuse`` lists recipients answered with 550.
    """

    host = HOST

    def __init__(self, *, tls_context: ssl.SSLContext | None = None,
                 require_starttls: bool = False) -> None:
        self._handler = _Collector()
        self.tls_context = tls_context
        self.require_starttls = require_starttls
        self._controller: _EphemeralController | None = None
        self.port = 0

    @property
    def messages(self) -> list[ReceivedMail]:
        """Messages received so far."""
        return self._handler.messages

    def start(self) -> Self:
        """Start the server thread."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        sock.listen()
        self.port = sock.getsockname()[1]
        kwargs: dict[str, Any] = {}
        if self.tls_context is not None:
            kwargs = {"tls_context": self.tls_context, "require_starttls": self.require_starttls}
        self._controller = _EphemeralController(self._handler, sock, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop the server; idempotent."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
