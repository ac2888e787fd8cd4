"""Card numbers never reach gunicorn's logs (issue #13 item 4).

A caller may put a card number in the URL (``/api/v1/auth/pay/4111…``, a query string) or in a
header gunicorn logs (``Referer``, ``User-Agent``). :class:`PanMaskingLogger` (gunicorn's
``logger_class``, set in :mod:`app.gunicorn_conf`) adds :class:`PanMaskingFilter` to the access
and error logs: each record's final message is passed through ``api_keys.cards.scrub_pans``,
also in its percent-decoded form (``4111%201111%20…``), so the request line, path, query and
Referer are masked whatever the log format. No Flask here: gunicorn's master loads it.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote, unquote_plus

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


class PanMaskingLogger(Logger):
    """gunicorn's logger with :class:`PanMaskingFilter` on the access and error logs."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, PanMaskingFilter) for f in log.filters):
                log.addFilter(PanMaskingFilter())
