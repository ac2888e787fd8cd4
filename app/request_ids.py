"""The id every answer carries in ``X-Request-Id`` (and every audit event in ``request_id``):
the caller's own when it is a plausible id, else a fresh one. Shared by the control plane's
request hook and the data plane.

A fresh id is unique, not secret: 12 random hex digits drawn once per process (again after a
fork) and an 11-digit counter. Drawing 12 random bytes per request cost the data plane a
system call and ~7 % of its time (issue #14 profile).
"""

from __future__ import annotations

import itertools
import os
import secrets

from api_keys.cards import scrub_pans

_state: tuple[int, str, itertools.count] = (-1, "", itertools.count())


def _fresh() -> str:
    global _state
    pid, prefix, counter = _state
    if pid != os.getpid():
        prefix, counter = secrets.token_hex(6), itertools.count(1)
        _state = (os.getpid(), prefix, counter)
    # the "r" keeps every digit run under 13, so no id can ever read as a card number
    return f"{prefix}r{next(counter) & 0xFFFFFFFFFFF:011x}"


def request_id_for(incoming: str) -> str:
    """``incoming`` if it is 8-64 letters, digits and dashes (and no card number), else a new
    id."""
    ok = 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum() \
        and scrub_pans(incoming) == incoming  # a card number is never an id we keep
    return incoming if ok else _fresh()
