"""gunicorn settings used by ``kybgate serve`` (``--config python:app.gunicorn_conf``)."""

from __future__ import annotations

import sys


def post_fork(server, worker) -> None:  # noqa: ARG001 - gunicorn's hook signature
    """Shorten the interpreter's thread switch interval in each worker.

    Verification answers wait for the audit writer's group commit. Between its database calls
    the writer thread needs the GIL back; with the default 5 ms switch interval it queues
    behind the request threads for several milliseconds per call, which makes every batch —
    and so every answer — slower than the database work itself.
    """
    sys.setswitchinterval(0.0005)
