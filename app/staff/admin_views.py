"""Console pages beyond the queue: blacklists, sanctions and PEP lists, the audit trail."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from werkzeug.utils import secure_filename

from app.api.context import keyring
from app.db import utcnow
from app.extensions import db_session
from app.services.blacklist import (
    KINDS,
    BlacklistEntryNotFound,
    add_entry,
    list_entries,
    remove_entry,
)
from app.services.screening import active_lists, import_list
from app.staff import bp
from app.staff.audit_search import SCAN_WINDOW, AuditQuery, export_response, search_events
from app.staff.forms import BlacklistForm, ListImportForm, UnblockForm
from app.web.auth import require_user, web_actor
from checks.screening.entries import ListFormatError

MAX_LIST_FILES = 5


@bp.get("/blacklists", endpoint="blacklists")
@require_user("staff")
def blacklists():
    """Active blacklist entries (optionally with removed ones) and the form to add one."""
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    removed = request.args.get("removed") == "1"
    rows = list_entries(db_session(), kind=kind, include_removed=removed, limit=500)
    return render_template("staff/blacklists.html", entries=rows, form=BlacklistForm(),
                           unblock=UnblockForm(), kind=kind, removed=removed, kinds=KINDS)


@bp.post("/blacklists", endpoint="blacklist_add")
@require_user("staff")
def blacklist_add():
    """Blacklist a value (any staff member; audited)."""
    form = BlacklistForm()
    if not form.validate_on_submit():
        flash(_("Kind, value and a reason are required."), "error")
        return redirect(url_for("staff.blacklists"), 303)
    session = db_session()
    try:
        _entry, created = add_entry(session, kind=form.kind.data, value=form.value.data,
                                    reason=form.reason.data, actor=web_actor(),
                                    keyring=keyring(), now=utcnow())
    except ValueError as exc:
        session.rollback()
        flash(_("Not added: %(why)s", why=str(exc)), "error")
        return redirect(url_for("staff.blacklists"), 303)
    session.commit()
    flash(_("Added to the blacklist.") if created else _("That value was already blacklisted."),
          "success")
    return redirect(url_for("staff.blacklists"), 303)


@bp.post("/blacklists/<entry_id>/remove", endpoint="blacklist_remove")
@require_user("staff", "approver", "admin")
def blacklist_remove(entry_id: str):
    """Unblock (approver or admin only, with a reason: R-E3's safeguard)."""
    form = UnblockForm()
    if not form.validate_on_submit():
        flash(_("Removing an entry needs a reason."), "error")
        return redirect(url_for("staff.blacklists"), 303)
    session = db_session()
    try:
        remove_entry(session, entry_id=entry_id, reason=form.reason.data, actor=web_actor(),
                     now=utcnow())
    except BlacklistEntryNotFound:
        abort(404)
    session.commit()
    flash(_("Removed from the blacklist."), "success")
    return redirect(url_for("staff.blacklists"), 303)


@bp.get("/lists", endpoint="lists")
@require_user("staff")
def lists():
    """The active sanctions and PEP list versions: last update and entry count."""
    return render_template("staff/lists.html", lists=active_lists(db_session()),
                           form=ListImportForm())


@bp.post("/lists", endpoint="lists_import")
@require_user("staff", "admin")
def lists_import():
    """Import an uploaded list file (admin only; replaces the active version of that list)."""
    form = ListImportForm()
    files = [f for f in request.files.getlist(form.files.name) if f and f.filename]
    if not form.validate_on_submit() or not files or len(files) > MAX_LIST_FILES:
        flash(_("Choose the list file(s) to import."), "error")
        return redirect(url_for("staff.lists"), 303)
    session = db_session()
    with tempfile.TemporaryDirectory(prefix="kyb-list-") as tmp:
        paths = []
        for index, upload in enumerate(files):
            path = Path(tmp) / (secure_filename(upload.filename) or f"list-{index}")
            upload.save(path)
            paths.append(path)
        try:
            summary = import_list(session, paths=paths, kind=form.kind.data,
                                  name=form.name.data or None, actor=web_actor(), now=utcnow())
        except (ListFormatError, ValueError) as exc:
            session.rollback()
            flash(_("Import failed: %(why)s", why=str(exc)), "error")
            return redirect(url_for("staff.lists"), 303)
    session.commit()
    if summary.unchanged:
        flash(_("%(n)s version %(v)s is already active; nothing changed.", n=summary.name,
                v=summary.version[:20]), "info")
    else:
        flash(_("Imported %(n)s: %(c)d entries.", n=summary.name, c=summary.entries), "success")
    return redirect(url_for("staff.lists"), 303)


@bp.get("/audit", endpoint="audit")
@require_user("staff")
def audit():
    """Search the audit trail by merchant, action, actor (any part, any case) and date."""
    query = AuditQuery.from_args(request.args)
    return render_template("staff/audit.html", query=query,
                           page=search_events(db_session(), query),
                           scan_window=format_decimal(SCAN_WINDOW))


@bp.get("/audit/export.<fmt>", endpoint="audit_export")
@require_user("staff", "approver", "admin")
def audit_export(fmt: str):
    """Download the events the search matches as CSV or JSON lines (audited)."""
    if fmt not in ("csv", "jsonl"):
        abort(404)
    query = AuditQuery.from_args(request.args)
    session = db_session()
    from app.audit.trail import record
    record(session, web_actor().event("audit.exported", details={"format": fmt,
                                                                  **query.as_dict()}))
    session.commit()
    return export_response(query, fmt)
