"""A real nginx (``/usr/sbin/nginx``) with ``auth_request`` to ``/api/v1/auth`` in front of a small
upstream: allowed requests reach the upstream with the merchant id, denied ones stop at nginx
with 401/403, and the deny reason reaches nginx's access log."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.app_server import serve
from tests.keys_support import CLIENT_IP, SITE, approved_merchant, issue

NGINX = "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="nginx not installed")

# nginx in the foreground, its files in the test's folder; ``{http}`` is the http block's rest
MAIN = """
daemon off;
master_process off;
worker_processes 1;
error_log {tmp}/error.log info;
pid {tmp}/nginx.pid;
events {{{{ worker_connections 64; }}}}
http {{{{
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{http}
}}}}
"""

CONFIG = MAIN.format(tmp="{tmp}", http="""\
    log_format kyb '$remote_addr "$request" $status deny=$kyb_deny merchant=$kyb_merchant';
    access_log {tmp}/access.log kyb;
{snippet}
    server {{
        listen 127.0.0.1:{port};
        include {tmp}/locations.conf;
        location / {{
            auth_request /_kyb_auth;
            auth_request_set $kyb_deny $upstream_http_x_deny_reason;
            auth_request_set $kyb_merchant $upstream_http_x_merchant_id;
            auth_request_set $kyb_key $upstream_http_x_key_id;
            proxy_set_header X-Merchant-Id $kyb_merchant;
            proxy_set_header X-Key-Id $kyb_key;
            proxy_pass http://127.0.0.1:{upstream};
        }}
    }}""")

LOCATIONS = """
location = /_kyb_auth {{
    internal;
    proxy_pass http://127.0.0.1:{kyb}/api/v1/auth;
    proxy_pass_request_body off;
    proxy_set_header Content-Length "";
    proxy_set_header X-Original-URI $request_uri;
    proxy_set_header X-Original-Method $request_method;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
}}
"""


class Upstream(http.server.BaseHTTPRequestHandler):
    """The payment API behind the gateway: echoes who nginx said the merchant is."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = f"upstream ok merchant={self.headers.get('X-Merchant-Id')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        return


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@pytest.fixture
def settings(settings):
    return settings.replace(key_activation_delay=0, trusted_proxies=("127.0.0.1/32",))


@pytest.fixture
def gateway(app, tmp_path) -> Iterator[tuple[int, Path]]:
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    with serve(app) as kyb_port:
        port = _free_port()
        (tmp_path / "locations.conf").write_text(LOCATIONS.format(kyb=kyb_port))
        conf = tmp_path / "nginx.conf"
        conf.write_text(CONFIG.format(tmp=tmp_path, port=port, snippet="",
                                      upstream=upstream.server_port))
        proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)],  # noqa: S603
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            _wait_port(port)
            yield port, tmp_path
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            upstream.shutdown()


def _get(port: int, headers: dict[str, str]) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/pay", headers=headers)
    resp = conn.getresponse()
    body = resp.read().decode(errors="replace")
    conn.close()
    return resp.status, body


def _access_log(tmp: Path, lines: int) -> list[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = (tmp / "access.log").read_text() if (tmp / "access.log").exists() else ""
        if len(text.splitlines()) >= lines:
            return text.splitlines()
        time.sleep(0.05)
    raise AssertionError("access log lines missing")


def test_requests_through_nginx_are_allowed_or_denied_with_reason(api, db_session, gateway):
    port, tmp = gateway
    merchant_id = approved_merchant(api, db_session)
    live = issue(api, merchant_id)
    test = issue(api, merchant_id, environment="test", ip_whitelist=["127.0.0.1"],
                 back_urls=["http://localhost:8080"])
    good = {"X-Api-Key": live["token"], "Origin": SITE, "X-Forwarded-For": CLIENT_IP}
    cases = [
        (good, 200, ""),
        ({"Authorization": f"Bearer {test['token']}", "Origin": "http://localhost:8080"}, 200,
         ""),
        ({"Origin": SITE}, 401, "invalid_token"),
        # the last character changed (to "1" when it was "0": a token may end in "0")
        ({**good, "X-Api-Key": live["token"][:-1] + ("1" if live["token"].endswith("0") else "0")},
         401, "invalid_token"),
        ({**good, "X-Forwarded-For": "8.8.8.8"}, 403, "ip_not_allowed"),
        ({**good, "X-Forwarded-For": "garbage"}, 403, "ip_not_allowed"),
        ({**good, "Origin": "https://anadolucicek.com.tr.evil.com"}, 403, "back_url_mismatch"),
        ({**good, "Origin": "null"}, 403, "back_url_mismatch"),
    ]
    for headers, status, _ in cases:
        got, body = _get(port, headers)
        assert got == status, (headers, got, body)
        if status == 200:
            assert body == f"upstream ok merchant={merchant_id}"
    log = _access_log(tmp, len(cases))
    assert [re.search(r"deny=(\S*) ", line).group(1) for line in log] == [c[2] for c in cases]
    assert f"merchant={merchant_id}" in log[0]


def test_revocation_and_freeze_reach_requests_through_nginx(api, db_session, gateway):
    port, _ = gateway
    merchant_id = approved_merchant(api, db_session)
    live = issue(api, merchant_id)
    headers = {"X-Api-Key": live["token"], "Origin": SITE, "X-Forwarded-For": CLIENT_IP}
    assert _get(port, headers)[0] == 200
    api.post(f"/api/v1/merchants/{merchant_id}/freeze")
    assert _get(port, headers)[0] == 403
    api.post(f"/api/v1/merchants/{merchant_id}/unfreeze")
    api.delete(f"/api/v1/keys/{live['key_id']}")
    assert _get(port, headers)[0] == 403


def test_oversized_header_is_refused_by_nginx_not_a_500(api, db_session, gateway):
    port, _ = gateway
    status, _ = _get(port, {"X-Api-Key": "k" * 10_240, "Origin": SITE})
    assert status in {400, 401, 431}


def test_shipped_nginx_snippet_is_valid_nginx(tmp_path):
    snippet = Path(__file__).resolve().parents[2] / "docs" / "gateway" / "nginx.conf"
    text = snippet.read_text().replace("127.0.0.1:8000", "127.0.0.1:9")
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
                    f"events {{}}\nhttp {{\n access_log off;\n client_body_temp_path {tmp_path};"
                    f"\n proxy_temp_path {tmp_path};\n{text}\n}}\n")
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)],  # noqa: S603
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert shutil.which(NGINX) or os.access(NGINX, os.X_OK)


# --- the documented docs/gateway/nginx.conf itself, served (issue #14 (b)) --------------------

DOCUMENTED = Path(__file__).resolve().parents[2] / "docs" / "gateway" / "nginx.conf"

DOCUMENTED_MAIN = MAIN.format(tmp="{tmp}", http="    include {tmp}/kyb_gateway.conf;")


def render_documented(text: str, *, kybgate: int, upstream: int, listen: int, log: Path) -> str:
    """docs/gateway/nginx.conf with only its addresses and log path rewritten (as
    ``bench/gateway.py`` does); fails if the documented text lost what is rewritten."""
    for old, new in (("server 127.0.0.1:8000;", f"server 127.0.0.1:{kybgate};"),
                     ("server 127.0.0.1:9000;", f"server 127.0.0.1:{upstream};"),
                     ("listen 8080;", f"listen 127.0.0.1:{listen};"),
                     ("/var/log/nginx/kyb_gateway.log", str(log))):
        assert old in text, f"docs/gateway/nginx.conf no longer contains {old!r}"
        text = text.replace(old, new)
    return text


class EchoUpstream(http.server.BaseHTTPRequestHandler):
    """The payment API: echoes what nginx told it and the body it received."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = self.rfile.read(length).decode() if length else ""
        body = json.dumps({name: self.headers.get(name) for name in (
            "X-Merchant-Id", "X-Key-Id", "X-Kyb-Audit-Id", "X-Api-Key")} | {
            "body": received, "method": self.command}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer  # noqa: N815 - http.server's naming

    def log_message(self, *args) -> None:
        return


@pytest.fixture
def documented_gateway(app, tmp_path) -> Iterator[tuple[int, Path]]:
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoUpstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    with serve(app) as kyb_port:
        port = _free_port()
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp_path / name).mkdir()
        (tmp_path / "kyb_gateway.conf").write_text(render_documented(
            DOCUMENTED.read_text(), kybgate=kyb_port, upstream=upstream.server_port, listen=port,
            log=tmp_path / "access.log"))
        conf = tmp_path / "nginx.conf"
        conf.write_text(DOCUMENTED_MAIN.format(tmp=tmp_path))
        proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)],  # noqa: S603
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            _wait_port(port)
            yield port, tmp_path
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            upstream.shutdown()


def _send(port: int, method: str, headers: dict[str, str], body: bytes | None = None
          ) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, "/payments", body=body, headers=headers)
    resp = conn.getresponse()
    text = resp.read().decode(errors="replace")
    conn.close()
    return resp.status, text


def test_documented_nginx_conf_allows_denies_and_logs(api, db_session, documented_gateway):
    """R-B4/R-E3 through the shipped docs/gateway/nginx.conf (keep-alive upstreams, no request
    body to kybgate): the payment API gets the merchant from kybgate and never the token; the
    body still reaches it; denials stop at nginx with the reason in the access log."""
    port, tmp = documented_gateway
    merchant_id = approved_merchant(api, db_session)
    live = issue(api, merchant_id)
    good = {"X-Api-Key": live["token"], "Origin": SITE, "X-Forwarded-For": CLIENT_IP,
            "Content-Type": "application/json", "X-Operation": "sale", "X-Amount": "149.90",
            "X-Currency": "TRY"}
    for _ in range(3):  # several requests over the same keep-alive upstream connections
        status, text = _send(port, "POST", good, b'{"order": "o-1"}')
        assert status == 200, text
        echoed = json.loads(text)
        assert echoed["X-Merchant-Id"] == merchant_id
        assert echoed["X-Key-Id"] == live["key_id"]
        assert echoed["X-Kyb-Audit-Id"]
        assert echoed["X-Api-Key"] is None  # the token stops at the gateway
        assert (echoed["body"], echoed["method"]) == ('{"order": "o-1"}', "POST")
    assert _send(port, "GET", {**good, "X-Forwarded-For": "8.8.8.8"})[0] == 403
    assert _send(port, "GET", {"Origin": SITE})[0] == 401
    log = _access_log(tmp, 5)
    assert [re.search(r"deny=(\S*) ", line).group(1) for line in log] == [
        "", "", "", "ip_not_allowed", "invalid_token"]
    assert f"merchant={merchant_id}" in log[0] and "audit=" in log[0]
