"""Typed configs <-> plain JSON-ready dicts, and typed ``path=value`` overrides, for every dataclass config.

Ground floor: imports nothing from genscene, so models, stages and commands can all save, load and
override their configs with it. Loading is strict: an unknown field, or a value of the wrong type,
is an error naming the field (a typo in a config or on the command line must not be ignored).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any


class ConfigError(ValueError):
    """A config dict or override that does not fit its dataclass; the message names the field."""


def to_dict(cfg: Any) -> Any:
    """Dataclasses -> nested plain dicts/lists (JSON-ready)."""
    if dataclasses.is_dataclass(cfg):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (list, tuple)):
        return [to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {k: to_dict(v) for k, v in cfg.items()}
    return cfg


def from_dict(cls: type, data: dict[str, Any], where: str = "") -> Any:
    """Build dataclass ``cls`` from a plain dict, recursing into dataclass fields.

    Raises :class:`ConfigError` for unknown keys and for values that do not fit a field's type.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where or cls.__name__}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"{where or cls.__name__}: unknown field(s) {sorted(unknown)}")
    prefix = f"{where}." if where else ""
    return cls(**{name: convert(hints[name], value, prefix + name) for name, value in data.items()})


def convert(hint: Any, value: Any, where: str) -> Any:
    """``value`` (plain JSON data) as type ``hint``: dataclasses, optionals, tuples, lists, scalars."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return convert(option, value, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} fits none of {args}")
    if dataclasses.is_dataclass(hint):
        if dataclasses.is_dataclass(value) and isinstance(value, hint):
            return value
        return from_dict(hint, value, where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            items = [convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
        elif origin is tuple and args:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            items = [convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value))]
        else:
            items = [convert(args[0], v, f"{where}[{i}]") if args else v for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected an object, got {value!r}")
        return dict(value)
    return _scalar(hint, value, where)


def _scalar(hint: Any, value: Any, where: str) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if typing.get_origin(hint) is typing.Literal:
        if value not in typing.get_args(hint):
            raise ConfigError(f"{where}: expected one of {list(typing.get_args(hint))}, got {value!r}")
        return value
    return value


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"data.views=[2,4]"`` -> ``(["data", "views"], [2, 4])``; the value is JSON, or a bare string."""
    path, sep, raw = text.partition("=")
    if not sep or not path.strip():
        raise ConfigError(f"override {text!r}: expected FIELD.PATH=VALUE")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a bare word such as dpt or inductor
    return path.strip().split("."), value


def apply_override(cfg: Any, text: str) -> Any:
    """Set one field of the dataclass tree ``cfg`` in place from ``"a.b.c=VALUE"``, typed by the field.

    Returns the converted value. Unknown fields and values of the wrong type raise :class:`ConfigError`.
    """
    path, value = parse_override(text)
    node = cfg
    for depth, name in enumerate(path):
        if not dataclasses.is_dataclass(node):
            raise ConfigError(f"override {text!r}: {'.'.join(path[:depth])} has no fields")
        fields = {f.name for f in dataclasses.fields(node)}
        if name not in fields:
            raise ConfigError(f"override {text!r}: {type(node).__name__} has no field {name!r}; "
                              f"known: {', '.join(sorted(fields))}")
        if depth < len(path) - 1:
            node = getattr(node, name)
    hint = typing.get_type_hints(type(node))[path[-1]]
    converted = convert(hint, value, ".".join(path))
    setattr(node, path[-1], converted)
    return converted
