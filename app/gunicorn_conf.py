"""gunicorn settings used by ``kybgate serve`` (``--config python:app.gunicorn_conf``).

With ``kybgate serve --audit-writer`` (the default) the master also runs the host's audit
writer (``kybgate audit writer``, see :mod:`app.dataplane.shipper`): it is started before the
first worker forks, restarted if it ever exits while the server runs, and stopped after the
workers on shutdown. Workers journal their events (``app.dataplane.journal``) whether it runs
or not; while it is gone the journals grow and ``GET /readyz`` says so.

With ``kybgate serve --worker`` (the default) the master supervises one job worker
(``kybgate worker``, see :mod:`app.jobs`) the same way: started with the server, restarted if
it dies, stopped (gracefully: running jobs finish) with it.

The access and error logs mask card numbers (``logger_class``, see :mod:`app.access_log`); a
worker writes the access lines it still buffers on its way out (``worker_exit``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

WRITER_START_SECONDS = 60.0  # imports take long on a loaded small box

# Card numbers in a logged URL or Referer are masked (issue #13 item 4, app.access_log).
logger_class = "app.access_log.PanMaskingLogger"


def post_worker_init(worker) -> None:
    """Build the worker's verification runtime (key cache, journal, host totals, policy) now,
    not on its first request: under load that took longer than a gateway's short
    ``proxy_read_timeout`` and the first checks failed (seen with nginx)."""
    app = getattr(worker, "wsgi", None)
    if app is None or not hasattr(app, "app_context"):
        return
    from app.dataplane.runtime import runtime
    try:
        with app.app_context():
            runtime(app)
    except Exception:  # noqa: BLE001 - the first request builds it instead, and says why
        worker.log.exception("verification runtime not built at start")


def kybgate_executable() -> str:
    """The ``kybgate`` script of this interpreter's environment (else the one on PATH)."""
    here = os.path.join(os.path.dirname(sys.executable), "kybgate")
    return here if os.path.exists(here) else (shutil.which("kybgate") or "kybgate")


class WriterSupervisor:
    """Runs ``kybgate audit writer`` as a child of gunicorn's master and keeps it running."""

    label = "audit writer"

    def __init__(self, journal_dir: str, log) -> None:
        self.journal_dir = journal_dir
        self.log = log
        self.process: subprocess.Popen | None = None
        self.stopping = threading.Event()
        self.restarts = 0

    def command(self) -> list[str]:
        return [kybgate_executable(), "audit", "writer", "--journal-dir", self.journal_dir,
                "--exit-with-parent"]

    def start(self) -> None:
        """Start the writer and wait until it ships (its status names it), or fail loudly."""
        from app.dataplane.shipper import read_status
        self.process = subprocess.Popen(self.command())  # noqa: S603 - our own entry point
        deadline = time.monotonic() + WRITER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"audit writer exited at start ({self.process.returncode})")
            status = read_status(self.journal_dir)
            if status is not None and status.get("pid") == self.process.pid:
                return
            time.sleep(0.05)
        self.process.kill()
        raise RuntimeError(f"audit writer did not start shipping {self.journal_dir} in time")

    def watch(self) -> None:
        """Restart the child whenever it exits, until :meth:`stop`."""
        while not self.stopping.is_set():
            process = self.process
            if process is None:
                return
            process.wait()  # also returns when the master's SIGCHLD handler reaped it
            if self.stopping.is_set():
                return
            self.restarts += 1
            self.log.error("%s exited (%s); restarting it", self.label, process.returncode)
            time.sleep(min(5.0, 0.2 * self.restarts))
            try:
                self.start()
            except (OSError, RuntimeError) as exc:
                self.log.error("%s restart failed: %s", self.label, exc)

    stop_seconds = 10.0

    def stop(self) -> None:
        """Stop the child with SIGTERM (the writer commits the batch in hand first)."""
        self.stopping.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=self.stop_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()


class JobWorkerSupervisor(WriterSupervisor):
    """Runs one ``kybgate worker`` (background jobs) as a child of gunicorn's master."""

    label = "job worker"
    stop_seconds = 35.0  # the worker lets running jobs finish for up to 30 s

    def __init__(self, log) -> None:
        super().__init__("", log)

    def command(self) -> list[str]:
        return [kybgate_executable(), "worker", "--exit-with-parent",
                "--parent-pid", str(os.getpid())]

    def start(self) -> None:
        """Start the worker; it needs no readiness handshake (jobs wait in the queue)."""
        self.process = subprocess.Popen(self.command())  # noqa: S603 - our own entry point


_supervisor: WriterSupervisor | None = None
_job_worker: JobWorkerSupervisor | None = None


def on_starting(server) -> None:
    """Start the audit writer before any worker exists (``kybgate serve --audit-writer``),
    then the job worker (``kybgate serve --worker``)."""
    global _supervisor
    path = os.environ.get("KYB_AUDIT_JOURNAL_DIR")
    if os.environ.get("KYB_RUN_AUDIT_WRITER") == "1" and path:
        _supervisor = WriterSupervisor(path, server.log)
        _supervisor.start()
        threading.Thread(target=_supervisor.watch, name="kyb-audit-writer-watch",
                         daemon=True).start()
        server.log.info("audit writer shipping %s", path)
    if os.environ.get("KYB_RUN_JOB_WORKER") == "1":
        _start_job_worker(server)


def _start_job_worker(server) -> None:
    global _job_worker
    _job_worker = JobWorkerSupervisor(server.log)
    _job_worker.start()
    threading.Thread(target=_job_worker.watch, name="kyb-job-worker-watch",
                     daemon=True).start()
    server.log.info("job worker running (pid %s)", _job_worker.process.pid)


def worker_exit(server, worker) -> None:  # noqa: ARG001 - gunicorn's hook signature
    """In the worker on its way out: write the access lines it still buffers."""
    flush = getattr(worker.log, "flush_access", None)
    if flush is not None:
        flush()


def child_exit(server, worker) -> None:  # noqa: ARG001 - gunicorn's hook signature
    """Drop a dead worker's live gauges from the metrics (its counts stay: they happened)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:  # noqa: ARG001 - gunicorn's hook signature
    """Stop the job worker and the audit writer after the workers have stopped."""
    if _job_worker is not None:
        _job_worker.stop()
    if _supervisor is not None:
        _supervisor.stop()
