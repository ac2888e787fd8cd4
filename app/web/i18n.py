"""Turkish and English for the web consoles (Flask-Babel).

The locale comes from ``?lang=`` (remembered in the session), then the session, then the
browser's ``Accept-Language``; English is the default. Catalogues live in
``app/translations/<locale>/LC_MESSAGES/messages.po``; the compiled ``.mo`` is rebuilt at start
when it is missing or older than its ``.po`` (so a fresh checkout or CI needs no build step).
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask_babel import Babel

log = logging.getLogger(__name__)
LOCALES = ("en", "tr")
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
babel = Babel()


def select_locale() -> str:
    """The request's locale: ``?lang=``, the session, ``Accept-Language``, else English
    (also for work done outside a request: a worker's or a command's notices)."""
    if not has_request_context():
        return "en"
    wanted = request.args.get("lang")
    if wanted in LOCALES:
        session["lang"] = wanted
        return wanted
    if session.get("lang") in LOCALES:
        return session["lang"]
    return request.accept_languages.best_match(LOCALES) or "en"


def compile_catalogues(directory: Path = TRANSLATIONS, target: Path | None = None) -> Path:
    """Compile each ``messages.po`` under ``directory`` into ``messages.mo`` when stale.

    Writes beside the ``.po``; if that is read-only (an installed package), into ``target``
    with the same layout. Returns the directory that holds the compiled catalogues.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    out_dir = directory
    for po in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        try:
            with mo.open("wb") as fh:
                write_mo(fh, catalog)
        except OSError:
            if target is None:
                raise
            out_dir = target
            alt = target / po.relative_to(directory).with_suffix(".mo")
            alt.parent.mkdir(parents=True, exist_ok=True)
            with alt.open("wb") as fh:
                write_mo(fh, catalog)
    return out_dir


def init_i18n(app: Flask) -> None:
    """Compile the catalogues if needed and initialise Flask-Babel on ``app``."""
    fallback = Path(app.instance_path) / "translations"
    try:
        directory = compile_catalogues(TRANSLATIONS, fallback)
    except OSError:
        log.exception("could not compile translations; pages fall back to English")
        directory = TRANSLATIONS
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Istanbul")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)
    babel.init_app(app, locale_selector=select_locale)
