"""The SIP2 parser's hot helpers: compiled (``_speedups``, C) when built, else pure Python.

Three helpers do the per-frame work of ``codec.parse`` that does not depend on the message:

- ``byte_sum(data)``: ``sum(data)``, the AZ checksum's total;
- ``split_fields(text, start, end)``: the variable fields of ``text[start:end]`` as
  ``(id, value)`` pairs (the last field may lack its ``|``), or None when a field is too
  short to have a two-character id;
- ``build(cls, plan, tail, text, fields, sequence, checksum, terminated)``: the message
  object, its fixed fields read at their offsets from ``text`` (which the class's
  ``_FIXED_RX`` has matched), without ``__post_init__``.

``PURE`` holds the Python versions, ``COMPILED`` the C ones (None when the extension was
not built: no C compiler where the wheel was made, ``ILS_GATEWAY_PURE_PYTHON=1`` at build
time, or a stale build). ``DEFAULT`` is what the codec uses: ``COMPILED`` when present. Both
give the same results (tests/sip2 and tests/thirdparty run over both).

``fixed_plan`` turns a message class's fixed fields into the ``plan`` ``parse_body`` reads:
one ``(slot descriptor, start, end, op, arg)`` per field, giving what the class's generated
``_from_text`` gives (``messages._compile_fast_path``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ils_gateway.sip2.checksum import byte_sum
from ils_gateway.sip2.fields import (
    AnyChar,
    Code,
    DateField,
    EnumCode,
    Field,
    FixedKind,
    FlagString,
    Number,
    SipDate,
    YesNo,
    ZeroOne,
)

__all__ = ["COMPILED", "DEFAULT", "PURE", "Speedups", "fixed_plan", "tail_slots"]

# The compiled module's interface version; a build of another version is not used.
ABI_VERSION = 2

# Plan operations (the C module defines the same numbers; tests compare them).
OP_STR = 0  # the slice itself
OP_EQ = 1  # slice == chr(arg)
OP_LOOKUP = 2  # arg[slice]
OP_NUMBER = 3  # int(slice), None when all spaces
OP_RAW = 4  # a new arg[0] with its slot arg[1] (``raw``) set to the slice

PlanEntry = tuple[Any, int, int, int, Any]


@dataclass(frozen=True, slots=True)
class Speedups:
    """One implementation of the parser's helpers (see the module docstring)."""

    name: str
    byte_sum: Callable[[bytes], int]
    split_fields: Callable[[str, int, int], tuple[Field, ...] | None]
    parse_body: Callable[..., Any] | None


# One variable field: two-character id, value, and its "|" (which the last field may lack).
# ``findall`` over the variable part gives the (id, value) pairs in one call (faster in
# Python than a split and a loop); a segment too short for an id matches nothing, so fewer
# pairs than segments means a malformed frame.
_FIELD = re.compile(r"([^|]{2})([^|]*)(?:\||\Z)")


def _split_fields(text: str, start: int, end: int) -> tuple[Field, ...] | None:
    if start == end:
        return ()
    pairs = _FIELD.findall(text, start, end)
    count = text.count("|", start, end)
    if text[end - 1] != "|":
        count += 1
    if len(pairs) != count:
        return None
    return tuple(pairs)


PURE = Speedups("pure", byte_sum, _split_fields, None)


def _load_compiled() -> Speedups | None:
    if os.environ.get("ILS_GATEWAY_PURE_PYTHON"):
        return None
    try:
        from ils_gateway.sip2 import _speedups  # type: ignore[attr-defined]  # C extension, may be absent
    except ImportError:
        return None
    module: ModuleType = _speedups
    if getattr(module, "ABI_VERSION", None) != ABI_VERSION:
        return None
    return Speedups("compiled", module.byte_sum, module.split_fields, module.parse_body)


COMPILED = _load_compiled()
DEFAULT = COMPILED or PURE


def _slot(cls: type, name: str) -> Any:
    """The slot descriptor for ``name`` on ``cls`` or the nearest base defining it."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    raise AttributeError(name)


def _op(kind: FixedKind) -> tuple[int, Any]:
    """The plan operation giving what ``kind.convert_source`` gives for a matched slice."""
    if isinstance(kind, YesNo):
        if kind.unknown:
            return OP_LOOKUP, {"Y": True, "N": False, "U": None}
        return OP_EQ, ord("Y")
    if isinstance(kind, ZeroOne):
        return OP_EQ, ord("1")
    if isinstance(kind, AnyChar | Code):
        return OP_STR, None
    if isinstance(kind, Number):
        return OP_NUMBER, None
    if isinstance(kind, EnumCode):
        return OP_LOOKUP, kind.lookup
    if isinstance(kind, FlagString):
        return OP_RAW, (kind.cls, _slot(kind.cls, "raw"))
    if isinstance(kind, DateField):
        return OP_RAW, (SipDate, _slot(SipDate, "raw"))
    raise TypeError(f"no plan operation for {type(kind).__name__}")


def fixed_plan(cls: type, specs: Sequence[tuple[str, FixedKind]]) -> tuple[PlanEntry, ...]:
    """``parse_body``'s plan for ``cls``'s fixed fields ``(name, kind)``, from 2."""
    plan = []
    pos = 2
    for name, kind in specs:
        op, arg = _op(kind)
        plan.append((_slot(cls, name), pos, pos + kind.width, op, arg))
        pos += kind.width
    return tuple(plan)


def tail_slots(cls: type) -> tuple[Any, ...]:
    """The slot descriptors of ``fields``, ``sequence``, ``checksum`` and
    ``last_field_terminated`` (``parse_body``'s ``tail``)."""
    return tuple(_slot(cls, n) for n in ("fields", "sequence", "checksum", "last_field_terminated"))
