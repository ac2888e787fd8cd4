"""Common start/stop behaviour of the local test servers."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from socketserver import BaseServer
from typing import Self

HOST = "127.0.0.1"


class QuietHTTPServer(ThreadingHTTPServer):
    """Threaded HTTP server whose slow handlers never hold up shutdown."""

    daemon_threads = True
    block_on_close = False


class ThreadedServer:
    """A ``socketserver`` server run in a daemon thread on 127.0.0.1, ephemeral port.

    Use as a context manager (``with RdapServer(...) as srv:``) or call ``start``/``stop``.
    Subclasses implement ``_make_server`` and may override ``start``/``stop``.
    """

    host = HOST

    def __init__(self) -> None:
        self._server: BaseServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def _make_server(self) -> BaseServer:
        raise NotImplementedError

    def start(self) -> Self:
        """Bind, serve in a thread, and return self (port is known from here on)."""
        if self._server is not None:
            return self
        self._server = self._make_server()
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; idempotent."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def address(self) -> str:
        """``127.0.0.1:port``, the form ``KYB_WHOIS_SERVER``/``KYB_DNS_NAMESERVERS`` take."""
        return f"{self.host}:{self.port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
