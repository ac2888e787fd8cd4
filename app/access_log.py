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
"""

from __future__ import annotations

import logging
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
            self.access_log.info(self.combined_line(resp, environ))
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

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, PanMaskingFilter) for f in log.filters):
                log.addFilter(PanMaskingFilter())
