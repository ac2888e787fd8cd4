"""An explanation that can be read in any language (issue #11): the English template of a
check's sentence and the values put into it. A check returns ``says("Domain %(domain)s …",
domain=…)``; the result keeps the English text (the API's ``explanation``, the audit trail) and
the template with its values, from which the console writes the sentence in the reader's
language. Templates are extracted into the console's catalogue (keyword ``says``), so the
catalogue test fails on a sentence without its Turkish text. No Flask here: checks stay pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checks.codec import to_jsonable


@dataclass(frozen=True)
class Says:
    """An English ``%``-template and its values (JSON data)."""

    template: str
    args: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """The English sentence."""
        return written(self.to_dict(), lambda template: template)

    def to_dict(self) -> dict[str, Any]:
        """``{"template", "args"}`` as stored beside the English text."""
        return {"template": self.template, "args": self.args}


def says(template: str, **args: Any) -> Says:
    """The sentence ``template % args``; ``args`` must be JSON data (dates become ISO text)."""
    return Says(template, to_jsonable(args))


def written(wording: dict[str, Any], translate: Callable[[str], str]) -> str:
    """The sentence of a stored ``wording`` with each template (its own and those of the
    sentences among its values, joined by "; ") passed through ``translate``."""
    args = {name: _value(value, translate) for name, value in wording["args"].items()}
    template = translate(wording["template"])
    return template % args if args else template


def _is_wording(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"template", "args"}


def _value(value: Any, translate: Callable[[str], str]) -> Any:
    if _is_wording(value):
        return written(value, translate)
    if isinstance(value, list):
        return "; ".join(written(v, translate) if _is_wording(v) else str(v) for v in value)
    return value
