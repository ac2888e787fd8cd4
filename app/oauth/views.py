"""``/oauth/token``, ``/oauth/introspect`` and ``/oauth/revoke``."""

from __future__ import annotations

from flask import Blueprint

from app.oauth.server import Introspection, Revocation, authorization

bp = Blueprint("oauth", __name__, url_prefix="/oauth")


@bp.post("/token")
def issue_token():
    """Client credentials grant (client_secret_basic or client_secret_post)."""
    return authorization.create_token_response()


@bp.post("/introspect")
def introspect_token():
    """RFC 7662 token introspection, for clients holding ``introspect``."""
    return authorization.create_endpoint_response(Introspection.ENDPOINT_NAME)


@bp.post("/revoke")
def revoke_token():
    """RFC 7009 token revocation."""
    return authorization.create_endpoint_response(Revocation.ENDPOINT_NAME)
