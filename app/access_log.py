"""Card numbers never reach gunicorn's logs (issue #13 item 4).

A caller may put a card number in the URL (``/api/v1/auth/pay/4111…``, a query string) or in a
header gunicorn logs (``Referer``, ``User-Agent``). :class:`PanMaskingLogger` (gunicorn's
``logger_class``, set in :mod:`app.gunicorn_conf`) adds :class:`PanMaskingFilter` to the access
and error logs: each record's final message is passed through ``api_keys.cards.scrub_pans``,
also in its percent-decoded form (``4111%201111%20…``), so the request line, path, query and
Referer are masked whatever the log format. No Flask here: gunicorn's master loads it.

With gunicorn's default format (Apache's combined log) the line is built from the nine fields
it names, byte for byte as gunicorn writes it, instead of from gunicorn's dictionary of every
request header, response header and environment variable: that dictionary was 10 % of a
worker's Python time under verification load (issue #14). A custom ``--access-logformat``
takes gunicorn's own path.

Request threads do not write that line themselves: they queue it on the process's
:class:`AccessBuffer`, whose thread writes what has gathered every :data:`FLUSH_SECONDS` in one
write. Through ``logging`` each line cost a log record, the handler's lock and a write of its
own: 8 % of a worker's Python time under verification load (issue #14), and a request thread
that waited for the lock held up every other. The buffer is written when the worker exits
(``app.gunicorn_conf.worker_exit``); a worker killed with ``SIGKILL`` loses at most its last
:data:`FLUSH_SECONDS` of access lines (the audit trail, not this log, is the record of each
verification).
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import traceback
from urllib.parse import unquote, unquote_plus

from gunicorn.config import AccessLogFormat
from gunicorn.glogging import Logger

from api_keys.cards import scrub_pans


def mask_line(line: str) -> str:
    """``line`` with every card number masked, percent-encoded ones too."""
    scrubbed = scrub_pans(line)
    for decode in (unquote, unquote_plus):  # "+" is a space only in a query string
        decoded = decode(scrubbed)
        if decoded != scrubbed and (masked := scrub_pans(decoded)) != decoded:
            return mask_line(masked)  # hidden by the encoding: log the decoded, masked line
    return scrubbed


class PanMaskingFilter(logging.Filter):
    """Rewrites each record's message with :func:`mask_line` (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_line(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


FLUSH_SECONDS = 0.05


class AccessBuffer:
    """Access lines of this process, written in batches by one thread (started by the first
    line in each process, so a forked worker gets its own)."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.lines: collections.deque[str] = collections.deque()
        self._pid: int | None = None
        self._start_lock = threading.Lock()
        self._write_lock = threading.Lock()

    def add(self, line: str) -> None:
        """Queue ``line`` (already masked) for the next batch."""
        if self._pid != os.getpid():
            self._start()
        self.lines.append(line)

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid():
                return
            threading.Thread(target=self._run, name="kyb-access-log", daemon=True).start()
            self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            try:
                self.flush()
            except Exception:  # noqa: BLE001, S110 - a log that cannot be written stops nothing
                pass

    def flush(self) -> None:
        """Write every queued line: in one write to each stream handler of gunicorn's access
        format, else as records through each handler (its own level and filters)."""
        with self._write_lock:  # lines leave in the order they came
            lines = []
            while self.lines:
                lines.append(self.lines.popleft())
            if not lines:
                return
            for handler in self.log.handlers:
                if _plain_stream(handler):
                    handler.acquire()
                    try:
                        handler.stream.write("\n".join(lines) + "\n")
                        handler.flush()
                    finally:
                        handler.release()
                    continue
                for line in lines:
                    record = self.log.makeRecord(self.log.name, logging.INFO, __file__, 0,
                                                 line, (), None)
                    if record.levelno >= handler.level:
                        handler.handle(record)


def _plain_stream(handler: logging.Handler) -> bool:
    """A stream or file handler that writes the bare message (gunicorn's own access handler)."""
    formatter = handler.formatter
    return (isinstance(handler, logging.StreamHandler) and not handler.filters
            and formatter is not None and formatter._fmt == "%(message)s"  # noqa: SLF001
            and getattr(handler, "stream", None) is not None)


COMBINED = AccessLogFormat.default  # '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'


def _quoted(value: str) -> str:
    """A field as gunicorn's ``SafeAtoms`` writes it (double quotes escaped)."""
    return value.replace('"', '\\"') if '"' in value else value


class PanMaskingLogger(Logger):
    """gunicorn's logger with :class:`PanMaskingFilter` on the access and error logs, and the
    combined format's line built directly (:meth:`combined_line`)."""

    def access(self, resp, req, environ, request_time) -> None:
        """Log one request; the combined format without gunicorn's full atom dictionary."""
        if self.cfg.access_log_format != COMBINED:
            super().access(resp, req, environ, request_time)
            return
        if not self._enabled():
            return
        try:
            self.buffer.add(mask_line(self.combined_line(resp, environ)))
        except Exception:  # noqa: BLE001 - as gunicorn: a log line never fails a request
            self.error(traceback.format_exc())

    def _enabled(self) -> bool:
        """Whether gunicorn would log the access at all: its own property where it has one
        (recent versions), else the same rule."""
        enabled = getattr(self, "access_log_enabled", None)
        if enabled is not None:
            return bool(enabled)
        cfg = self.cfg
        return bool(cfg.accesslog or cfg.logconfig or cfg.logconfig_dict
                    or getattr(cfg, "logconfig_json", None)
                    or (cfg.syslog and not cfg.disable_redirect_access_to_syslog))

    def combined_line(self, resp, environ) -> str:
        """The combined-format line gunicorn would write for this request."""
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        request_line = (f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} "
                        f"{environ['SERVER_PROTOCOL']}")
        return (f"{_quoted(environ.get('REMOTE_ADDR', '-'))} - "
                f"{_quoted(self._get_user(environ) or '-')} "
                f"{time.strftime('[%d/%b/%Y:%H:%M:%S %z]')} \"{_quoted(request_line)}\" "
                f"{_quoted(status) if isinstance(status, str) else status} "
                f"{str(sent) if sent is not None and str(sent) else '-'} "
                f"\"{_quoted(environ.get('HTTP_REFERER', '-'))}\" "
                f"\"{_quoted(environ.get('HTTP_USER_AGENT', '-'))}\"")

    def flush_access(self) -> None:
        """Write the access lines still buffered (a worker on its way out)."""
        self.buffer.flush()

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if getattr(self, "buffer", None) is None:
            self.buffer = AccessBuffer(self.access_log)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, PanMaskingFilter) for f in log.filters):
                log.addFilter(PanMaskingFilter())
