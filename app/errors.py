"""RFC 9457 problem details: every error the API returns, and the handlers that make sure no
stack trace reaches a user."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://kybgate.dev/problems/"


class ApiProblem(Exception):
    """An error to answer as ``application/problem+json``."""

    def __init__(self, status: int, title: str, detail: str | None = None, *,
                 kind: str | None = None, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.errors, self.headers, self.extra = errors, headers or {}, extra

    def body(self) -> dict[str, Any]:
        """The problem document."""
        doc: dict[str, Any] = {"type": PROBLEM_BASE + self.kind, "title": self.title,
                               "status": self.status}
        if self.detail:
            doc["detail"] = self.detail
        if self.errors is not None:
            doc["errors"] = self.errors
        doc.update(self.extra)
        return doc


def validation_problem(errors: list[dict[str, Any]], detail: str | None = None) -> ApiProblem:
    """422 with one entry per bad field (``{"field", "message", "code"}``)."""
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return ApiProblem(422, "Validation failed", detail or f"Invalid fields: {fields}",
                      kind="validation", errors=errors)


def problem_response(problem: ApiProblem) -> Response:
    """Serialise ``problem`` with its status and headers."""
    body = problem.body()
    instance = getattr(request, "path", None)
    if instance:
        body.setdefault("instance", instance)
    from flask import g
    if getattr(g, "request_id", None):
        body.setdefault("request_id", g.request_id)
    resp = Response(json.dumps(body), status=problem.status,
                    mimetype="application/problem+json")
    for name, value in problem.headers.items():
        resp.headers[name] = value
    return resp


def _wants_problem() -> bool:
    path = request.path
    return (path.startswith(("/api/", "/oauth/")) or path in {"/healthz", "/readyz"}
            or request.accept_mimetypes.best == "application/json")


def register_error_handlers(app: Flask) -> None:
    """Answer problem+json on the API and styled pages elsewhere; never a stack trace."""

    @app.errorhandler(ApiProblem)
    def _api_problem(problem: ApiProblem):
        return problem_response(problem)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if _wants_problem():
            errors = ([{"field": "body", "code": "too_large",
                        "message": f"the body is over {request.max_content_length} bytes"}]
                      if exc.code == 413 else None)
            return problem_response(ApiProblem(exc.code or 500, exc.name, exc.description,
                                               kind=exc.name.lower().replace(" ", "-"),
                                               errors=errors))
        return _html_error(exc.code or 500, exc.name, exc.description)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_problem():
            return problem_response(ApiProblem(500, "Internal error",
                                               "The request could not be completed.",
                                               kind="internal"))
        return _html_error(500, "Internal error", "Something went wrong on our side.")


def _html_error(status: int, title: str, detail: str | None):
    from flask import render_template
    from jinja2 import TemplateNotFound
    try:
        return render_template("error.html", status=status, title=title, detail=detail), status
    except TemplateNotFound:
        return Response(f"{status} {title}", status=status, mimetype="text/plain")
