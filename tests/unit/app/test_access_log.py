"""gunicorn's access and error logs mask card numbers (issue #13 item 4)."""

from __future__ import annotations

import logging

from app.access_log import PanMaskingFilter, PanMaskingLogger, mask_line
from tests.pan_hunt import leaks

PANS = ("4111111111111111", "5555555555554444")
LINE = ('127.0.0.1 - - [27/Nov/2026:13:38:32 +0000] "GET {path} HTTP/1.1" 204 0 "{referer}" '
        '"httpx/0.27"')


def test_request_line_query_and_referer_are_masked():
    cases = [
        ("/api/v1/auth/pay/4111111111111111", "-"),
        ("/api/v1/auth/pay/4111%201111%201111%201111?x=1", "https://shop.test/?c=5555+5555+5555+4444"),
        ("/api/v1/auth/x?card=4111-1111-1111-1111", "https://shop.test/5555.5555.5555.4444"),
        ("/api/v1/auth/%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31", "-"),
    ]
    for path, referer in cases:
        masked = mask_line(LINE.format(path=path, referer=referer))
        assert not leaks(masked, PANS), masked
        assert "411111******1111" in masked or "555555******4444" in masked


def test_a_line_without_card_numbers_is_unchanged():
    line = LINE.format(path="/api/v1/auth/payments/42?x=1%20y", referer="https://shop.test/a+b")
    assert mask_line(line) == line


def test_the_filter_rewrites_the_formatted_message():
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(r)s",
                               ({"r": "GET /pay/4111111111111111 HTTP/1.1"},), None)
    assert PanMaskingFilter().filter(record) is True
    assert record.getMessage() == "GET /pay/411111******1111 HTTP/1.1"


def test_serve_uses_the_masking_logger():
    from app import gunicorn_conf
    assert gunicorn_conf.logger_class == "app.access_log.PanMaskingLogger"
    assert issubclass(PanMaskingLogger, __import__("gunicorn.glogging").glogging.Logger)
