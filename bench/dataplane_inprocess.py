"""CPU of one ``POST /api/v1/verify`` in process, through the data plane and through the
control plane's Flask view (issue #14): the same request, the bearer cached, the audit sink
answering at once, so what is left is each path's own work (parsing, bearer check, decision,
event draft, response).

Usage: ``python bench/dataplane_inprocess.py [--iterations 3000]``
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


class InstantSink:
    """An audit sink that stores nothing and answers at once (never a deployment)."""

    def append(self, draft, timeout: float = 30.0):  # noqa: ANN001, ANN201, ARG002
        from app.audit.batcher import StoredEvent
        return StoredEvent("evt_bench", 1, "0" * 64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args()
    import verify as bench

    with tempfile.TemporaryDirectory(prefix="kyb-dataplane-") as tmp:
        env = bench._env(f"sqlite:///{tmp}/bench.db", tmp)
        creds = bench.seed(env)
        from app import create_app
        from app.dataplane.runtime import runtime
        app = create_app({"TESTING": True})
        body = json.dumps(bench.verify_body(creds["token"])).encode()

        def call(wsgi) -> str:  # noqa: ANN001
            environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/verify",
                       "SERVER_NAME": "bench", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
                       "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_TYPE": "application/json",
                       "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
                       "wsgi.errors": sys.stderr, "REMOTE_ADDR": "127.0.0.1",
                       "HTTP_AUTHORIZATION": f"Bearer {creds['bearer']}"}
            status: list[str] = []
            chunks = wsgi(environ, lambda s, _h, _e=None: status.append(s))
            b"".join(chunks)
            getattr(chunks, "close", lambda: None)()
            return status[0]

        call(app.wsgi_app)  # the view validates the bearer and caches it
        runtime(app).verifier.batcher = InstantSink()
        paths = (("data plane", app.wsgi_app), ("control plane view", app.wsgi_app.control_plane))
        print(f"== one verification in process, bearer cached, instant audit sink "
              f"(load {__import__('os').getloadavg()[0]:.2f})")
        for name, wsgi in paths * 2:
            for _ in range(200):
                call(wsgi)
            start, cpu = time.perf_counter(), time.thread_time()
            for _ in range(args.iterations):
                status = call(wsgi)
            wall = (time.perf_counter() - start) / args.iterations * 1e6
            used = (time.thread_time() - cpu) / args.iterations * 1e6
            print(f"{name:<20} {status}: CPU {used:6.1f} µs, wall {wall:6.1f} µs per request")
        app.extensions["kyb.engine"].dispose()


if __name__ == "__main__":
    main()
