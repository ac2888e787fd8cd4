"""JSON codec for the frozen dataclasses of ``checks``.

Facts, results and verdicts are stored as JSON so an assessment can be replayed exactly (R-D4).
``to_jsonable`` turns a dataclass into plain JSON values (``Decimal`` as a string, dates and
datetimes in ISO 8601, tuples as lists); ``from_jsonable`` rebuilds it from the type hints, so
``from_jsonable(T, json.loads(json.dumps(to_jsonable(x)))) == x`` for every value ``x`` of ``T``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

_NONE_TYPE = type(None)


def to_jsonable(value: Any) -> Any:
    """Return ``value`` as JSON-compatible data (dicts, lists, str, int, float, bool, None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored; use UTC")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def from_jsonable(tp: Any, data: Any, *, where: str = "$") -> Any:
    """Rebuild a value of type ``tp`` from JSON data; ``ValueError`` names the bad path."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _from_union(typing.get_args(tp), data, where)
    if tp is Any:
        return data
    if origin is typing.Literal:
        if data not in typing.get_args(tp):
            raise ValueError(f"{where}: {data!r} is not one of {typing.get_args(tp)}")
        return data
    if origin in (tuple, list):
        return _from_sequence(tp, origin, data, where)
    if origin is dict or tp is dict:
        _expect(isinstance(data, dict), where, "an object", data)
        args = typing.get_args(tp)
        value_tp = args[1] if args else Any
        return {k: from_jsonable(value_tp, v, where=f"{where}.{k}") for k, v in data.items()}
    if dataclasses.is_dataclass(tp):
        return _from_dataclass(tp, data, where)
    return _from_scalar(tp, data, where)


def _from_union(args: tuple[Any, ...], data: Any, where: str) -> Any:
    if data is None:
        _expect(_NONE_TYPE in args, where, "a value", data)
        return None
    candidates = [a for a in args if a is not _NONE_TYPE]
    if len(candidates) != 1:
        raise TypeError(f"{where}: unions other than `X | None` are not supported")
    return from_jsonable(candidates[0], data, where=where)


def _from_sequence(tp: Any, origin: type, data: Any, where: str) -> Any:
    _expect(isinstance(data, list), where, "a list", data)
    args = typing.get_args(tp)
    item_tp = args[0] if args else Any
    items = [from_jsonable(item_tp, v, where=f"{where}[{i}]") for i, v in enumerate(data)]
    return tuple(items) if origin is tuple else items


def _from_dataclass(cls: Any, data: Any, where: str) -> Any:
    _expect(isinstance(data, dict), where, "an object", data)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)} for {cls.__name__}")
    kwargs = {
        name: from_jsonable(hints[name], data[name], where=f"{where}.{name}")
        for name in names
        if name in data
    }
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _from_scalar(tp: Any, data: Any, where: str) -> Any:
    if tp is Decimal:
        ok = isinstance(data, (str, int)) and not isinstance(data, bool)
        _expect(ok, where, "a decimal string", data)
        try:
            return Decimal(data)
        except InvalidOperation as exc:
            raise ValueError(f"{where}: {data!r} is not a decimal number") from exc
    if tp is datetime:
        _expect(isinstance(data, str), where, "an ISO 8601 datetime", data)
        parsed = datetime.fromisoformat(data)
        _expect(parsed.tzinfo is not None, where, "a timezone-aware datetime", data)
        return parsed
    if tp is date:
        _expect(isinstance(data, str), where, "an ISO 8601 date", data)
        return date.fromisoformat(data)
    if tp is bool:
        _expect(isinstance(data, bool), where, "true or false", data)
        return data
    if tp is int:
        _expect(isinstance(data, int) and not isinstance(data, bool), where, "an integer", data)
        return data
    if tp is float:
        ok = isinstance(data, (int, float)) and not isinstance(data, bool)
        _expect(ok, where, "a number", data)
        return float(data)
    if tp is str:
        _expect(isinstance(data, str), where, "a string", data)
        return data
    raise TypeError(f"{where}: cannot decode into {tp!r}")


def _expect(ok: bool, where: str, what: str, data: Any) -> None:
    if not ok:
        raise ValueError(f"{where}: expected {what}, got {data!r}")
