"""OAuth 2.0 clients (the institution's back-office integrations) and their access tokens.
Client secrets and access tokens are stored only as hashes."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, when_field


class OAuthClient(SQLModel, table=True):
    """A client-credentials integration with its granted scopes."""

    __tablename__ = "oauth_client"

    id: str = id_field("cli")
    client_id: str = Field(max_length=64, unique=True)
    client_secret_hash: str = Field(max_length=128)
    name: str = Field(max_length=120)
    scopes: str = Field(max_length=500)
    created_at: dt.datetime = created_field()
    revoked_at: dt.datetime | None = when_field()


class OAuthToken(SQLModel, table=True):
    """An issued bearer token; only its SHA-256 is kept."""

    __tablename__ = "oauth_token"

    id: str = id_field("tok")
    client_id: str = Field(max_length=64, index=True)
    access_token_hash: str = Field(max_length=64, unique=True)
    scope: str = Field(max_length=500)
    issued_at: dt.datetime = created_field()
    expires_at: dt.datetime = created_field()
    revoked_at: dt.datetime | None = when_field()
