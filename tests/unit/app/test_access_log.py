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


class _Response:
    def __init__(self, status, sent, headers=()):
        self.status, self.sent, self.headers = status, sent, list(headers)


def _environ(**extra):
    environ = {"REQUEST_METHOD": "POST", "RAW_URI": "/api/v1/verify?x=1", "PATH_INFO":
               "/api/v1/verify", "QUERY_STRING": "x=1", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1"}
    environ.update(extra)
    return environ


def _gunicorns_line(logger, resp, environ):
    from gunicorn.glogging import Logger, SafeAtoms
    atoms = Logger.atoms(logger, resp, [], environ, __import__("datetime").timedelta(0))
    return logger.cfg.access_log_format % SafeAtoms(atoms)


def test_the_combined_line_is_gunicorns_own_byte_for_byte(monkeypatch):
    """Issue #14: the line is built from its nine fields instead of gunicorn's dictionary of
    every header and variable; what is written must not change."""
    from gunicorn.config import Config
    monkeypatch.setattr("time.strftime", lambda fmt, *a: "[27/Nov/2026:23:30:00 +0000]")
    logger = PanMaskingLogger(Config())
    basic = "Basic " + __import__("base64").b64encode(b"cli_42:secret").decode()
    cases = [
        (_Response("200 OK", 151), _environ()),
        (_Response("204 No Content", None), _environ(HTTP_USER_AGENT="wrk", HTTP_REFERER="-")),
        (_Response(403, 0), _environ(HTTP_USER_AGENT='evil "agent"', HTTP_REFERER='https://a.test/"x"',
                                     RAW_URI='/p?q="1"')),
        (_Response("200 OK", 7), _environ(HTTP_AUTHORIZATION=basic)),
        (_Response("401 Unauthorized", 0), _environ(HTTP_AUTHORIZATION="Basic !!not-base64")),
        (_Response("200 OK", 3), {k: v for k, v in _environ().items() if k != "REMOTE_ADDR"}),
    ]
    for resp, environ in cases:
        assert logger.combined_line(resp, environ) == _gunicorns_line(logger, resp, environ)


def test_the_access_log_writes_the_line_masked_and_a_custom_format_takes_gunicorns_path(
        tmp_path, monkeypatch):
    from gunicorn.config import Config
    monkeypatch.setattr("time.strftime", lambda fmt, *a: "[27/Nov/2026:23:30:00 +0000]")
    path = tmp_path / "access.log"
    cfg = Config()
    cfg.set("accesslog", str(path))
    logger = PanMaskingLogger(cfg)
    environ = _environ(RAW_URI="/api/v1/auth/pay/4111111111111111")
    logger.access(_Response("204 No Content", 0), [], environ,
                  __import__("datetime").timedelta(0))
    cfg.set("access_log_format", '%(h)s "%(r)s" %(s)s %(M)s')
    logger.access(_Response("204 No Content", 0), [], environ,
                  __import__("datetime").timedelta(milliseconds=5))
    logger.flush_access()  # the combined line waits in the buffer until then
    lines = path.read_text().splitlines()
    assert sorted(lines) == sorted([
        '127.0.0.1 - - [27/Nov/2026:23:30:00 +0000] "POST /api/v1/auth/pay/411111******1111 '
        'HTTP/1.1" 204 0 "-" "-"',
        '127.0.0.1 "POST /api/v1/auth/pay/411111******1111 HTTP/1.1" 204 5'])


def _file_logger(tmp_path):
    from gunicorn.config import Config
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    return PanMaskingLogger(cfg), tmp_path / "access.log"


def test_request_threads_queue_their_lines_and_one_thread_writes_them_in_order(tmp_path):
    """Issue #14: no request thread writes (or waits for the handler's lock); the buffer's
    thread writes what gathered, in the order it came, within a bounded time."""
    import threading
    import time
    logger, path = _file_logger(tmp_path)
    paths = [f"/api/v1/verify?n={n}" for n in range(200)]
    lock = threading.Lock()
    order = []

    def serve(chunk):
        for raw in chunk:
            with lock:  # the order the lines were queued in
                order.append(raw)
                logger.access(_Response("200 OK", 7), [], _environ(RAW_URI=raw), None)

    threads = [threading.Thread(target=serve, args=(paths[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # no flush here: the buffer's own thread writes
        text = path.read_text() if path.exists() else ""
        if text.count("\n") == len(paths):
            break
        time.sleep(0.02)
    written = [line.split('"')[1].split()[1] for line in path.read_text().splitlines()]
    assert written == order


def test_a_handler_that_is_not_a_plain_stream_gets_one_record_per_line(tmp_path):
    logger, _ = _file_logger(tmp_path)
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger.access_log.addHandler(Collect())
    for raw in ("/a/4111111111111111", "/b"):
        logger.access(_Response("204 No Content", 0), [], _environ(RAW_URI=raw), None)
    logger.flush_access()
    assert [r.split('"')[1] for r in records] == ["POST /a/411111******1111 HTTP/1.1",
                                                  "POST /b HTTP/1.1"]


def test_a_forked_worker_starts_its_own_writer_thread(tmp_path, monkeypatch):
    import os
    logger, path = _file_logger(tmp_path)
    logger.access(_Response("200 OK", 1), [], _environ(), None)
    started = logger.buffer._pid
    assert started == os.getpid()
    monkeypatch.setattr(logger.buffer, "_pid", -1)  # as seen by a child after fork
    logger.access(_Response("200 OK", 1), [], _environ(), None)
    assert logger.buffer._pid == os.getpid()
    logger.flush_access()
    assert len(path.read_text().splitlines()) == 2


def test_serve_writes_a_workers_buffered_lines_on_its_way_out():
    from app import gunicorn_conf

    class Log:
        flushed = 0

        def flush_access(self):
            Log.flushed += 1

    class Worker:
        log = Log()

    gunicorn_conf.worker_exit(None, Worker())
    assert Log.flushed == 1
