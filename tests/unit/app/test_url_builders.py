"""The test process reuses werkzeug's compiled URL builders across apps (tests/conftest.py):
URLs built by two apps with the same routes stay each app's own (its converters, defaults and
prefix), exactly as without the reuse."""

from __future__ import annotations

from flask import Flask, url_for


def _app(prefix: str) -> Flask:
    app = Flask(__name__)
    app.config["SERVER_NAME"] = "kyb.test"
    app.config["APPLICATION_ROOT"] = prefix

    def view(**_kw):  # noqa: ANN202
        return ""

    app.add_url_rule("/keys/<int:number>", "key", view)
    app.add_url_rule("/page/", "page", view, defaults={"n": 1})
    app.add_url_rule("/page/<int:n>", "page", view)
    app.add_url_rule("/files/<path:name>", "file", view)
    return app


def test_two_apps_build_the_same_urls_as_werkzeug_would():
    from werkzeug.routing.rules import Rule
    assert getattr(Rule._compile_builder, "kyb_reused", False)
    for prefix, base in (("/", "http://kyb.test"), ("/kyb", "http://kyb.test/kyb")):
        app = _app(prefix)
        with app.app_context():
            assert url_for("key", number=42) == f"{base}/keys/42"
            assert url_for("key", number=7, q="a b") == f"{base}/keys/7?q=a+b"
            assert url_for("page") == f"{base}/page/"
            assert url_for("page", n=3) == f"{base}/page/3"
            assert url_for("file", name="a/b c.pdf") == f"{base}/files/a/b%20c.pdf"
