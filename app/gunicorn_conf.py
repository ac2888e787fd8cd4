"""gunicorn settings used by ``kybgate serve`` (``--config python:app.gunicorn_conf``).

With ``kybgate serve --audit-writer`` (the default) the master also runs the host's audit
writer (``kybgate audit writer``, see :mod:`app.audit.writer`): it is started before the first
worker forks, restarted if it ever exits while the server runs, and stopped after the workers
on shutdown. Workers that find it gone answer 503 until it is back; none answers unaudited.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

WRITER_START_SECONDS = 20.0


def post_fork(server, worker) -> None:  # noqa: ARG001 - gunicorn's hook signature
    """Shorten the interpreter's thread switch interval in each worker.

    Verification answers wait for the audit writer's acknowledgement. The thread that reads it
    needs the GIL back; with the default 5 ms switch interval it queues behind the request
    threads for several milliseconds, which makes every answer slower than the commit itself.
    """
    sys.setswitchinterval(0.0005)


class WriterSupervisor:
    """Runs ``kybgate audit writer`` as a child of gunicorn's master and keeps it running."""

    def __init__(self, socket_path: str, log) -> None:
        self.socket_path = socket_path
        self.log = log
        self.process: subprocess.Popen | None = None
        self.stopping = threading.Event()
        self.restarts = 0

    def command(self) -> list[str]:
        here = os.path.join(os.path.dirname(sys.executable), "kybgate")
        return [here if os.path.exists(here) else (shutil.which("kybgate") or "kybgate"),
                "audit", "writer", "--socket", self.socket_path, "--exit-with-parent"]

    def start(self) -> None:
        """Start the writer and wait until it accepts connections (or fail loudly)."""
        from app.audit.writer import writer_reachable
        self.process = subprocess.Popen(self.command())  # noqa: S603 - our own entry point
        deadline = time.monotonic() + WRITER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"audit writer exited at start ({self.process.returncode})")
            if writer_reachable(self.socket_path):
                return
            time.sleep(0.05)
        self.process.kill()
        raise RuntimeError(f"audit writer did not listen on {self.socket_path} in time")

    def watch(self) -> None:
        """Restart the writer whenever it exits, until :meth:`stop`."""
        while not self.stopping.is_set():
            process = self.process
            if process is None:
                return
            process.wait()  # also returns when the master's SIGCHLD handler reaped it
            if self.stopping.is_set():
                return
            self.restarts += 1
            self.log.error("audit writer exited (%s); restarting it", process.returncode)
            time.sleep(min(5.0, 0.2 * self.restarts))
            try:
                self.start()
            except (OSError, RuntimeError) as exc:
                self.log.error("audit writer restart failed: %s", exc)

    def stop(self) -> None:
        """Stop the writer (it commits the batch in hand first)."""
        self.stopping.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


_supervisor: WriterSupervisor | None = None


def on_starting(server) -> None:
    """Start the audit writer before any worker exists (``kybgate serve --audit-writer``)."""
    global _supervisor
    path = os.environ.get("KYB_AUDIT_SOCKET")
    if os.environ.get("KYB_RUN_AUDIT_WRITER") != "1" or not path:
        return
    _supervisor = WriterSupervisor(path, server.log)
    _supervisor.start()
    threading.Thread(target=_supervisor.watch, name="kyb-audit-writer-watch",
                     daemon=True).start()
    server.log.info("audit writer running on %s", path)


def on_exit(server) -> None:  # noqa: ARG001 - gunicorn's hook signature
    """Stop the audit writer after the workers have stopped."""
    if _supervisor is not None:
        _supervisor.stop()
