"""A fast first pass over JSON records, compiled from the pydantic contracts themselves.

``fast_check(Model)`` returns a function that answers True only when the contract surely accepts
a record: every key is a field, every required field is there, and every value already has
exactly the type its annotation names (``str`` is a str, ``int`` an int and not a bool, an enum
or Literal one of its values, a nested contract a dict checked the same way...); records are data
as a JSON parser returns it (dicts with string keys, lists, str, int, float, bool, None). Anything
else (a conversion pydantic might make, such as "3" for an int, a constraint, an alias, a
validator with no registered equivalent) answers False, which means "not sure": the caller then
validates with pydantic, which accepts or names the error exactly as before. So a record is
rejected exactly when pydantic rejects it, and clean records, nearly all of them, skip building
models. ``tests/unit/warehouse/test_fastcheck.py`` checks this against pydantic on corrupted
records.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, RootModel

from taskforge.contracts import Message

Check = Callable[[Any], bool]

_JSON_TYPES: frozenset[type] = frozenset({dict, list, str, int, float, bool, type(None)})
_FLOAT_MAX = 1.7976931348623157e308
_CONFIG_KEYS = frozenset({"extra", "title", "json_schema_extra", "validate_assignment", "frozen"})
"""Model settings that do not change what validation accepts (a model with others: not compiled)."""
_SHAPES_MAX = 4096
"""Tuples of keys remembered per model; others are planned again each time."""


def _tool_message_has_id(raw: Mapping[str, Any]) -> bool:
    return raw.get("role") != "tool" or raw.get("id") is not None


MODEL_VALIDATORS: dict[tuple[type[BaseModel], str], Callable[[Mapping[str, Any]], bool]] = {
    (Message, "_tool_messages_have_ids"): _tool_message_has_id,
}
"""Equivalents of the contracts' model validators, on the raw record once its fields passed.
A model whose validator is missing here is left to pydantic."""


@dataclass(frozen=True)
class Compiled:
    """How values of one annotation are checked: types accepted on their type alone, and, for
    other types, a check of the value (which may assume that type)."""

    plain: frozenset[type] = frozenset()
    by_type: Mapping[type, Check] = field(default_factory=dict)

    def function(self) -> Check:
        """One function checking any value."""
        plain, by_type = self.plain, self.by_type
        if not plain and len(by_type) == 1 and dict in by_type:
            return by_type[dict]  # a contract's check takes any value
        if not by_type:
            return lambda v: type(v) in plain

        def check(value: Any) -> bool:
            kind = type(value)
            if kind in plain:
                return True
            test = by_type.get(kind)
            return test is not None and test(value)

        return check


def _int_as_float(value: int) -> bool:
    return -_FLOAT_MAX <= value <= _FLOAT_MAX


_NOTHING = Compiled()
_SCALARS: dict[Any, Compiled] = {
    str: Compiled(frozenset({str})),
    int: Compiled(frozenset({int})),
    float: Compiled(frozenset({float}), {int: _int_as_float}),
    bool: Compiled(frozenset({bool})),
    type(None): Compiled(frozenset({type(None)})),
    None: Compiled(frozenset({type(None)})),
    Any: Compiled(_JSON_TYPES),
    object: Compiled(_JSON_TYPES),
}


def _union(members: list[Compiled]) -> Compiled:
    plain = frozenset().union(*(m.plain for m in members))
    tests: dict[type, list[Check]] = {}
    for member in members:
        for kind, test in member.by_type.items():
            if kind not in plain:
                tests.setdefault(kind, []).append(test)
    return Compiled(plain, {kind: _any_of(checks) for kind, checks in tests.items()})


def _any_of(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    return lambda v: any(check(v) for check in checks)


def _one_of(values: tuple[Any, ...]) -> Compiled:
    if not values or not all(type(v) is str for v in values):
        return _NOTHING
    return Compiled(by_type={str: frozenset(values).__contains__})


def _list_of(item: Compiled) -> Compiled:
    if item.plain >= _JSON_TYPES:
        return Compiled(frozenset({list}))
    check = item.function()
    return Compiled(by_type={list: lambda v: all(map(check, v))})


def _dict_of(key: Compiled, value: Compiled) -> Compiled:
    values = value.function()
    if key == _SCALARS[str]:  # JSON object keys are always strings
        if value.plain >= _JSON_TYPES:
            return Compiled(frozenset({dict}))
        return Compiled(by_type={dict: lambda v: all(map(values, v.values()))})
    keys = key.function()
    return Compiled(by_type={dict: lambda v: all(keys(k) and values(x) for k, x in v.items())})


def _annotation(tp: Any) -> Compiled:
    """How to check one type annotation (nothing passes where it is not compiled)."""
    if tp in _SCALARS:
        return _SCALARS[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _union([_annotation(a) for a in args])
    if origin is Literal:
        return _one_of(args)
    if tp is list or (origin is list and len(args) == 1):
        return _list_of(_annotation(args[0]) if args else _SCALARS[Any])
    if tp is dict or (origin is dict and len(args) == 2):
        key, value = args if args else (str, Any)
        return _dict_of(_annotation(key), _annotation(value))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _one_of(tuple(member.value for member in tp))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return Compiled(by_type={dict: _Late(tp) if tp in _COMPILING else fast_check(tp)})
    return _NOTHING


_COMPILING: set[type[BaseModel]] = set()


class _Late:
    """A model's check looked up on first use (for a model that contains itself)."""

    __slots__ = ("check", "model")

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.check: Check | None = None

    def __call__(self, value: Any) -> bool:
        if self.check is None:
            self.check = fast_check(self.model)
        return self.check(value)


def _compilable(model: type[BaseModel]) -> bool:
    """Whether the model's acceptance is all in its fields' annotations (and known validators)."""
    config = model.model_config
    decorators = model.__pydantic_decorators__
    if issubclass(model, RootModel) or set(config) - _CONFIG_KEYS:
        return False
    if config.get("extra") not in (None, "forbid", "ignore", "allow"):
        return False
    if getattr(model, "__pydantic_post_init__", None) is not None:
        return False
    if decorators.validators or decorators.field_validators or decorators.root_validators:
        return False
    if any((model, name) not in MODEL_VALIDATORS for name in decorators.model_validators):
        return False
    if "__get_pydantic_core_schema__" in model.__dict__:
        return False
    return all(
        f.alias is None and f.validation_alias is None and not f.metadata and not f.discriminator
        for f in model.model_fields.values()
    )


def _unsure(value: Any) -> bool:
    return False


_NEW: Any = object()


@cache
def fast_check(model: type[BaseModel]) -> Check:
    """A check that is True only for raw (JSON) data ``model`` surely accepts (see module doc).

    A record's keys settle which fields to look at; for each tuple of keys a small function is
    generated (and remembered) that unpacks the values and tests each one's type inline, which
    is several times faster than testing them through generic checks.
    """
    if not _compilable(model):
        return _unsure
    _COMPILING.add(model)
    try:
        fields = {name: _annotation(f.annotation) for name, f in model.model_fields.items()}
    finally:
        _COMPILING.discard(model)
    plan = _Planner(model, fields)
    plans: dict[tuple[str, ...], Check | None] = {}

    def check(value: Any) -> bool:
        if type(value) is not dict:
            return False
        keys = tuple(value)
        test = plans.get(keys, _NEW)
        if test is _NEW:
            test = plan(keys)
            if len(plans) < _SHAPES_MAX:
                plans[keys] = test
        return test is not None and test(value)

    return check


def _all_of(rules: list[Callable[[Mapping[str, Any]], bool]]) -> Check | None:
    if len(rules) < 2:
        return rules[0] if rules else None
    return lambda value: all(rule(value) for rule in rules)


class _Planner:
    """For one tuple of keys: None (not sure), else a generated function testing the values."""

    def __init__(self, model: type[BaseModel], fields: dict[str, Compiled]) -> None:
        self.fields = fields
        self.required = {name for name, f in model.model_fields.items() if f.is_required()}
        self.forbid = model.model_config.get("extra") == "forbid"
        names = model.__pydantic_decorators__.model_validators
        self.rule = _all_of([MODEL_VALIDATORS[(model, name)] for name in names])

    def __call__(self, keys: tuple[str, ...]) -> Check | None:
        if not self.required <= set(keys):
            return None
        if self.forbid and not self.fields.keys() >= set(keys):
            return None
        source = _Source()
        tests = [
            source.test(f"v{i}", self.fields[name])
            for i, name in enumerate(keys)
            if name in self.fields
        ]
        if self.rule is not None:
            tests.append(f"{source.bind(self.rule)}(value)")
        values = "".join(f"v{i}, " for i in range(len(keys)))
        body = " and ".join(t for t in tests if t != "True") or "True"
        code = f"def test(value):\n    ({values}) = value.values()\n    return {body}\n"
        exec(code, source.names)  # generated from the contract only, never from input
        generated: Check = source.names["test"]
        return generated


class _Source:
    """Expressions of a generated test, with the objects they name."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {}

    def bind(self, obj: Any) -> str:
        name = f"c{len(self.names)}"
        self.names[name] = obj
        return name

    def test(self, var: str, compiled: Compiled) -> str:
        """An expression true when ``var`` passes ``compiled`` (types tested inline)."""
        plain = compiled.plain
        if plain >= _JSON_TYPES:
            return "True"
        parts = [f"{var} is None"] if type(None) in plain else []
        kinds = sorted(plain - {type(None)}, key=lambda k: k.__name__)
        if len(kinds) == 1:
            parts.append(f"type({var}) is {self.bind(kinds[0])}")
        elif kinds:
            parts.append(f"type({var}) in {self.bind(frozenset(kinds))}")
        for kind, check in compiled.by_type.items():
            owner = getattr(check, "__self__", None)
            if type(owner) is frozenset and check.__name__ == "__contains__":  # one of values
                test = f"{var} in {self.bind(owner)}"
            else:
                test = f"{self.bind(check)}({var})"
            parts.append(f"(type({var}) is {self.bind(kind)} and {test})")
        return "(" + " or ".join(parts) + ")" if parts else "False"


__all__ = ["MODEL_VALIDATORS", "Compiled", "fast_check"]
