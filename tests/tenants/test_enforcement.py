"""Every policy key has a reader (issue 16: a key no code reads must not exist)."""

from __future__ import annotations

import importlib
import inspect
import typing
from enum import StrEnum

import pytest
from pydantic import BaseModel

from ils_gateway.tenants.enforcement import PENDING, RULES, explain, policy_keys
from ils_gateway.tenants.models import TenantFile
from ils_gateway.tenants.policy import Policy

KEYS = list(policy_keys())


@pytest.mark.parametrize("key", KEYS)
def test_every_policy_key_is_registered(key: str) -> None:
    assert (key in RULES) != (key in PENDING), (
        f"policy.{key}: register where it is enforced in tenants/enforcement.py RULES "
        "(or remove the key: no code reads it)"
    )


def test_registry_names_only_existing_keys() -> None:
    assert set(RULES) | set(PENDING) <= set(KEYS)


@pytest.mark.parametrize("key", sorted(RULES))
def test_each_reader_reads_the_key(key: str) -> None:
    for module, text in RULES[key].readers:
        source = inspect.getsource(importlib.import_module(module))
        assert text in source, f"policy.{key}: {module} no longer contains {text!r}"


def test_nothing_is_pending() -> None:
    # Registration and reset by mail were read by no code: removed until issue 18 builds them.
    assert PENDING == {}


def test_removed_keys_are_gone() -> None:
    # Read by no code (issue 16): the library system's own rules, or mail the gateway never sends.
    for key in (
        "renewal.refuse_when_has_holds",
        "holds.pickup_shelf_days",
        "holds.pickup_days_exclude_closed",
        "holds.pickup_extension.days",
        "holds.pickup_extension.only_if_nobody_waiting",
        "ebooks.loan_days",
        "ebooks.pickup_shelf_days",
        "email.confirm_change",
        "notifications.due_reminder_days_before",
    ):
        assert key not in KEYS


def test_explain_lists_every_set_rule_with_where() -> None:
    policy = Policy.model_validate(
        {"holds": {"limits": [{"name": "av", "material_types": ["dvd"], "max": 4}]}}
    )
    lines = explain(policy)
    assert "policy.holds.limits[av].max = 4  -> gateway, before the ILS" in lines
    assert "policy.account.login_when_overdue = True  -> gateway, before the ILS" in lines
    assert not any("NOT ENFORCED" in line for line in lines)


def _models(annotation: object, seen: dict[str, type[BaseModel]]) -> None:
    for arg in typing.get_args(annotation):
        _models(arg, seen)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation.__qualname__ not in seen:
            seen[annotation.__qualname__] = annotation
            for field in annotation.model_fields.values():
                _models(field.annotation, seen)


def _all_models() -> dict[str, type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {}
    _models(TenantFile, seen)
    return seen


@pytest.mark.parametrize("name", sorted(_all_models()))
def test_every_tenant_file_table_refuses_unknown_keys(name: str) -> None:
    assert _all_models()[name].model_config.get("extra") == "forbid"


# Tables whose keys are data, not names of settings: each is checked by its own validator or
# is a code of the library's own (branch codes, Koha item types, simulated operations).
FREE_KEYS = {
    "LabelsConfig.ja",  # validate_overrides: <vocabulary>.<value> must exist
    "LabelsConfig.en",  # the same
    "RenewalPolicy.branch_period_days",  # the library's branch codes
    "KohaBackend.item_types",  # the Koha server's item type codes
    "SimulatorBackend.failure_rates",
    # the library system's own codes (SIP2 CK/vendor values, Koha item types, FOLIO names/ids)
    "MaterialTypeMap.sip2_media_types",
    "MaterialTypeMap.sip2_type_values",
    "MaterialTypeMap.koha_item_types",
    "MaterialTypeMap.folio_material_types",  # not servable: config check refuses the kind
    "CalendarConfig.hours",  # weekday names: its validator refuses any other key
    "TenantConfig.jobs",  # job names: its validator refuses any but tenants.jobs.JOB_NAMES
}


def test_dict_tables_have_checked_keys() -> None:
    for name, model in _all_models().items():
        for field_name, field in model.model_fields.items():
            if typing.get_origin(field.annotation) is not dict:
                continue
            key_type = typing.get_args(field.annotation)[0]
            enum_keys = isinstance(key_type, type) and issubclass(key_type, StrEnum)
            assert enum_keys or f"{name}.{field_name}" in FREE_KEYS, (
                f"{name}.{field_name}: a table with unchecked keys takes misspellings silently"
            )
