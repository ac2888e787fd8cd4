"""The demo's sandbox Internet: an RDAP registry, a WHOIS server and a DNS server on 127.0.0.1
that answer for the demo merchants' domains, so that ``kybgate demo`` assesses every merchant
through the real lookup code (RDAP client, dnspython, the SSRF-safe fetcher) without reaching
the Internet.

The sandbox is used only while the demo loads. Its answers are the demo's story (a domain
registered 21 days ago, another in 2019); the evidence of each check names the sandbox
registry as its source, so nobody mistakes it for a real lookup. The sandbox speaks plain
HTTP on loopback, so the lookups run with the test-only private-address allowance; every shop
resolves to 127.0.0.1 where no website listens, so the website fetch fails and the price check
falls back to the declared price range — what happens to an unreachable site in production.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from app.config import Settings
from app.demo.sandbox import DnsServer, RdapServer, WhoisServer, rdap_domain
from app.services.facts import LookupSources

SANDBOX_REGISTRAR = "kybgate demo sandbox registry"


def _tlds(domains: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({d.rsplit(".", 1)[-1] for d in domains}))


@contextmanager
def sandbox_sources(base: Settings, domains: dict[str, int], now: dt.datetime
                    ) -> Iterator[LookupSources]:
    """Serve ``domains`` (domain → age in days at ``now``) and yield lookup sources that use
    the sandbox; the servers stop when the block ends."""
    registry = {
        domain: rdap_domain(domain, (now - dt.timedelta(days=age)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                            registrar=SANDBOX_REGISTRAR)
        for domain, age in domains.items()}
    zones = {domain: {"A": ["127.0.0.1"], "MX": [(10, f"mx.{domain}")]} for domain in domains}
    rdap = RdapServer(registry, tlds=_tlds(domains))
    servers = [rdap.start(), WhoisServer({}).start(), DnsServer(zones).start()]
    whois, dns = servers[1], servers[2]
    try:
        with tempfile.TemporaryDirectory(prefix="kyb-demo-") as tmp:
            bootstrap = rdap.write_bootstrap(Path(tmp) / "dns.json")
            settings = base.replace(rdap_bootstrap=str(bootstrap),
                                    whois_server=f"127.0.0.1:{whois.port}",
                                    dns_nameservers=(f"127.0.0.1:{dns.port}",),
                                    fetch_allow_private=True)
            yield LookupSources.from_settings(settings, timeout=6.0)
    finally:
        for server in reversed(servers):
            server.stop()
