"""A local merchant website: product pages with prices, redirects, a huge and a slow page."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from app.demo.sandbox.base import QuietHTTPServer, ThreadedServer


@dataclass(frozen=True)
class Page:
    """A page served as is, after ``delay`` seconds."""

    body: str | bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    delay: float = 0.0


@dataclass(frozen=True)
class Redirect:
    """A redirect; ``{port}`` in ``location`` becomes the server's own port."""

    location: str
    status: int = 302


@dataclass(frozen=True)
class Huge:
    """``size`` bytes of HTML streamed in chunks; ``declare_length`` sends Content-Length."""

    size: int
    declare_length: bool = False


@dataclass(frozen=True)
class Drip:
    """A body sent one small chunk every ``interval`` seconds (a slow-loris page)."""

    chunks: int = 100
    interval: float = 0.2


Route = Page | Redirect | Huge | Drip


def product_page_jsonld(name: str, price: str, currency: str = "TRY") -> Page:
    """A product page carrying a schema.org Product/Offer in JSON-LD."""
    data = {"@context": "https://schema.org", "@type": "Product", "name": name,
            "offers": {"@type": "Offer", "price": price, "priceCurrency": currency,
                       "availability": "https://schema.org/InStock"}}
    return Page(f"""<!doctype html><html lang="tr"><head><title>{name}</title>
<script type="application/ld+json">{json.dumps(data)}</script></head>
<body><h1>{name}</h1><p>Sepete ekle</p></body></html>""")


def product_page_microdata(name: str, price: str, currency: str = "TRY") -> Page:
    """A product page with schema.org microdata."""
    return Page(f"""<!doctype html><html><head><title>{name}</title></head><body>
<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">{name}</h1>
<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
<meta itemprop="priceCurrency" content="{currency}">
<span itemprop="price" content="{price}">{price.replace(".", ",")} TL</span></div></div>
</body></html>""")


def product_page_rdfa(name: str, price: str, currency: str = "EUR") -> Page:
    """A product page with schema.org RDFa Lite."""
    return Page(f"""<!doctype html><html><head><title>{name}</title></head><body>
<div vocab="https://schema.org/" typeof="Product"><h1 property="name">{name}</h1>
<div property="offers" typeof="Offer"><span property="price" content="{price}">{price}</span>
<meta property="priceCurrency" content="{currency}"></div></div></body></html>""")


def text_price_page(*lines: str) -> Page:
    """A page whose prices are only in visible text (plus a decoy in a script)."""
    items = "".join(f"<li>{line}</li>" for line in lines)
    return Page(f"""<!doctype html><html><head><title>Katalog</title>
<script>var tracking = {{"value": "9999 TL"}};</script></head>
<body><ul>{items}</ul><footer>Tel: 0212 555 12 34</footer></body></html>""")


def merchant_pages() -> dict[str, Route]:
    """A ready-made shop: price pages of each kind, redirects good and bad, huge and slow."""
    return {
        "/": product_page_jsonld("Porselen Kupa", "14.90"),
        "/jsonld": product_page_jsonld("Porselen Kupa", "14.90"),
        "/microdata": product_page_microdata("Demlik Cay", "19.50"),
        "/rdfa": product_page_rdfa("Tea Cup", "7.25"),
        "/text": text_price_page("Kalem 12,50 TL", "Defter 1.299,90 ₺"),
        "/hop1": Redirect("/hop2"),
        "/hop2": Redirect("http://127.0.0.1:{port}/hop3", 301),
        "/hop3": Redirect("/jsonld", 307),
        "/loop": Redirect("/loop"),
        "/to-loopback": Redirect("http://127.0.0.1:{port}/jsonld"),
        "/to-metadata": Redirect("http://169.254.169.254/latest/meta-data/"),
        "/to-file": Redirect("file:///etc/passwd"),
        "/huge": Huge(3 * 1024 * 1024),
        "/huge-declared": Huge(3 * 1024 * 1024, declare_length=True),
        "/slow": Page("<html><body>late 10 TL</body></html>", delay=5.0),
        "/drip": Drip(),
        "/image": Page(b"\x89PNG\r\n\x1a\n", content_type="image/png"),
        "/missing": Page("<html><body>yok</body></html>", status=404),
    }


class WebsiteServer(ThreadedServer):
    """HTTP (or, with ``ssl_context``, HTTPS) server for ``pages`` (path → route).

    ``requests`` records ``(path, Host header)`` so tests can see what the client sent.
    """

    def __init__(
        self,
        pages: Mapping[str, Route] | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__()
        self.pages: dict[str, Route] = dict(merchant_pages() if pages is None else pages)
        self.ssl_context = ssl_context
        self.requests: list[tuple[str, str | None]] = []

    def url(self, path: str = "/", host: str | None = None) -> str:
        """Absolute URL of ``path`` on this server, optionally under another host name."""
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def _make_server(self) -> QuietHTTPServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                owner.requests.append((self.path, self.headers.get("Host")))
                route = owner.pages.get(self.path.split("?")[0])
                if route is None:
                    route = Page("<html><body>not here</body></html>", status=404)
                try:
                    self._serve(route)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _serve(self, route: Route) -> None:
                if isinstance(route, Redirect):
                    self.send_response(route.status)
                    self.send_header("Location", route.location.replace("{port}", str(owner.port)))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif isinstance(route, Page):
                    time.sleep(route.delay)
                    body = route.body.encode() if isinstance(route.body, str) else route.body
                    self._head(route.status, route.content_type, len(body))
                    self.wfile.write(body)
                elif isinstance(route, Huge):
                    self._head(200, "text/html", route.size if route.declare_length else None)
                    chunk = b"<p>" + b"x" * 65529 + b"</p>"
                    for _ in range(route.size // len(chunk) + 1):
                        self.wfile.write(chunk)
                else:
                    self._head(200, "text/html", None)
                    for _ in range(route.chunks):
                        self.wfile.write(b"<p>.</p>")
                        self.wfile.flush()
                        time.sleep(route.interval)

            def _head(self, status: int, ctype: str, length: int | None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if length is not None:
                    self.send_header("Content-Length", str(length))
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = QuietHTTPServer((self.host, 0), Handler)
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True)
        return server
