"""Typed configs <-> JSON dicts and typed overrides: round trips, and every mistake named by its field."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from genscene.config_io import ConfigError, apply_override, from_dict, parse_override, to_dict


@dataclass
class Inner:
    """A nested config."""

    rate: float = 0.5
    """A float."""
    on: bool = False
    """A flag."""


@dataclass
class Outer:
    """A config with every kind of field the project uses."""

    name: str = "tiny"
    """A string."""
    steps: int = 3
    """An int."""
    sizes: tuple[int, ...] = (1, 2)
    """A variable-length tuple."""
    pair: tuple[int, int] = (2, 8)
    """A fixed-length tuple."""
    inner: Inner = field(default_factory=Inner)
    """A nested dataclass."""
    maybe: Inner | None = None
    """An optional dataclass."""


def test_round_trip_through_json_restores_types():
    cfg = Outer(name="x", steps=7, sizes=(3, 4, 5), pair=(1, 1), inner=Inner(0.25, True), maybe=Inner(2.0))
    again = from_dict(Outer, json.loads(json.dumps(to_dict(cfg))))
    assert again == cfg and isinstance(again.sizes, tuple) and isinstance(again.maybe, Inner)
    assert from_dict(Outer, {"maybe": None}).maybe is None
    assert from_dict(Inner, {"rate": 1}).rate == 1.0 and isinstance(from_dict(Inner, {"rate": 1}).rate, float)


@pytest.mark.parametrize("data, message", [
    ({"stepz": 1}, "Outer: unknown field(s) ['stepz']"),
    ({"steps": "3"}, "steps: expected an integer, got '3'"),
    ({"steps": True}, "steps: expected an integer"),
    ({"pair": [1, 2, 3]}, "pair: expected 2 items, got 3"),
    ({"sizes": [1, "a"]}, "sizes[1]: expected an integer"),
    ({"inner": {"rate": "fast"}}, "inner.rate: expected a number"),
    ({"inner": {"rat": 1.0}}, "inner: unknown field(s) ['rat']"),
    ({"maybe": {"on": 1}}, "maybe.on: expected true or false"),
    ({"inner": [1]}, "inner: expected an object"),
])
def test_mistakes_name_their_field(data, message):
    with pytest.raises(ConfigError) as err:
        from_dict(Outer, data)
    assert message in str(err.value)


def test_overrides_are_typed_by_the_field():
    cfg = Outer()
    assert apply_override(cfg, "inner.rate=2") == 2.0 and cfg.inner.rate == 2.0
    apply_override(cfg, "pair=[3,4]")
    apply_override(cfg, "name=wide")  # a bare word is a string
    apply_override(cfg, "maybe={\"on\": true}")
    assert cfg.pair == (3, 4) and cfg.name == "wide" and cfg.maybe == Inner(on=True)
    apply_override(cfg, "maybe=null")
    assert cfg.maybe is None
    for text, word in (("inner.rte=1", "no field 'rte'"), ("steps=1.5", "expected an integer"),
                       ("steps.x=1", "has no fields"), ("=3", "FIELD.PATH=VALUE"), ("steps", "FIELD.PATH=VALUE")):
        with pytest.raises(ConfigError, match=word):
            apply_override(cfg, text)
    assert cfg.steps == 3  # a refused override changes nothing


def test_parse_override_reads_json_or_a_bare_word():
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])
    assert parse_override("a=inductor") == (["a"], "inductor")
    assert parse_override("a=1e-3") == (["a"], 1e-3)
