"""Real local servers: RDAP, WHOIS, DNS, a merchant website, SMTP — a small Internet on
127.0.0.1. The integration tests run kybgate's real client libraries against them, and
``kybgate demo`` uses them as a sandbox so the demo's assessments go through the real lookup
code without reaching the Internet.

Each binds 127.0.0.1 on an ephemeral port, runs in a daemon thread, and works as a context
manager (``with DnsServer({...}) as dns: ...``) or through ``start()``/``stop()``. Each takes its
data per test (a dict of domain → answer). The pytest fixtures that wrap them live in
``tests/integration/sources/conftest.py``.
"""

from app.demo.sandbox.dns import DnsServer
from app.demo.sandbox.rdap import RdapServer, rdap_domain
from app.demo.sandbox.smtp import ReceivedMail, SmtpServer
from app.demo.sandbox.website import (
    Drip,
    Huge,
    Page,
    Redirect,
    WebsiteServer,
    merchant_pages,
    product_page_jsonld,
    product_page_microdata,
    product_page_rdfa,
    text_price_page,
)
from app.demo.sandbox.whois import WhoisServer, tr_whois, verisign_not_found, verisign_whois

__all__ = [
    "DnsServer", "Drip", "Huge", "Page", "RdapServer", "ReceivedMail", "Redirect", "SmtpServer",
    "WebsiteServer", "WhoisServer", "merchant_pages", "product_page_jsonld",
    "product_page_microdata", "product_page_rdfa", "rdap_domain", "text_price_page",
    "tr_whois", "verisign_not_found", "verisign_whois",
]
