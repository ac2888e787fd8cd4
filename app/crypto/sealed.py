"""The column type of sealed personal fields: it stores only values that ``DataKeys.seal``
made, so a clear name or id can never reach the table by mistake (the caller seals, with the
row id as associated data; see :mod:`app.crypto.data_keys`)."""

from __future__ import annotations

import sqlalchemy as sa

from app.crypto.data_keys import split_sealed


class SealedText(sa.types.TypeDecorator):
    """Text that must be a sealed value (``kd1:<version>:…``) or NULL."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: D102
        if value is None:
            return None
        split_sealed(value)  # raises SealedValueError on clear text
        return value
