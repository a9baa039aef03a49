"""``sip2.build_args`` (what a checker sees of each ``Cls.build``) matches the message classes:
same names, same types, required exactly when the class has no default."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, get_type_hints

import pytest

from ils_gateway.sip2 import build_args
from ils_gateway.sip2.fields import DateVar, FlagVar, Repeat, SipDate, Var
from ils_gateway.sip2.messages import MESSAGE_TYPES, Message

VARIABLE_TYPES: dict[type, Any] = {
    Var: str | None,
    Repeat: Iterable[str] | None,
    DateVar: SipDate | str | None,
    FlagVar: bool | None,
}


@pytest.mark.parametrize("cls", list(MESSAGE_TYPES.values()), ids=lambda c: c.code)
def test_build_args_name_and_type_every_field(cls: type[Message]) -> None:
    args = getattr(build_args, f"{cls.__name__}Args")
    hints = get_type_hints(args)
    fixed_types = get_type_hints(cls)
    expected = {"sequence": int | None, "checksum": str | None}
    expected |= {s.name: fixed_types[s.name] for s in cls.FIXED}
    expected |= {v.name: VARIABLE_TYPES[type(v)] for v in cls.VARIABLE}
    assert hints == expected
    no_default = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    assert args.__required_keys__ == no_default


def test_every_build_args_belongs_to_a_message() -> None:
    names = {n.removesuffix("Args") for n in vars(build_args) if n.endswith("Args")}
    assert names == {cls.__name__ for cls in MESSAGE_TYPES.values()}


def test_build_still_runs_the_one_implementation() -> None:
    built = MESSAGE_TYPES["11"].build(
        transaction_date=SipDate("20240401    093000"), patron_identifier="1", item_identifier="2"
    )
    assert built.get("AB") == "2" and built.get("AC") == ""  # required AC written empty
    with pytest.raises(TypeError):
        MESSAGE_TYPES["94"].build()  # ok has no default
