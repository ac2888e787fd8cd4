"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1 (a thread) that checks
every delivery's signature with the ``standardwebhooks`` package and answers with the status
codes a test scripts (e.g. 500 first, then 200)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

PORTS = range(9700, 9800)  # this helper's port range on the shared machine


@dataclass
class Received:
    """One delivery as the receiver saw it."""

    headers: dict[str, str]
    body: bytes
    verified_with: list[str] = field(default_factory=list)  # the secrets that verify it
    answered: int = 200


class Receiver:
    """``Receiver(secrets=[...], statuses=[500, 200])``; ``url`` is where it listens."""

    def __init__(self, *, secrets: list[str] | None = None,
                 statuses: list[int] | None = None) -> None:
        self.secrets = list(secrets or [])
        self.statuses: deque[int] = deque(statuses or [])
        self.received: list[Received] = []
        self.server = _bind(self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/kyb"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                seen = Received(headers, body)
                for secret in receiver.secrets:
                    try:
                        Webhook(secret).verify(body, headers)
                        seen.verified_with.append(secret)
                    except WebhookVerificationError:
                        pass
                seen.answered = receiver.statuses.popleft() if receiver.statuses else 200
                receiver.received.append(seen)
                self.send_response(seen.answered)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _bind(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    for port in PORTS:
        try:
            return ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError:
            continue
    raise RuntimeError("no free port in 9700-9799")
