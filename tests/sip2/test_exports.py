"""Pins the public names of the SIP2 protocol core (others build the client and server on them)."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "checksum": {"ChecksumBasis", "checksum_of_bytes", "checksum_of_text", "compute_checksum"},
    "codec": {
        "DEFAULT_MAX_FRAME_BYTES", "DEFAULT_SETTINGS", "REPLACEABLE_FIELDS", "CodecSettings",
        "encode", "parse",
    },
    "connection": {
        "CLOSED", "NEED_DATA", "TRANSITIONS", "BadFrame", "Event", "RepeatedRequest", "Role",
        "SIP2Connection", "State",
    },
    "speedups": {"COMPILED", "DEFAULT", "PURE", "Speedups", "fixed_plan", "tail_slots"},
    "errors": {
        "FieldValueError", "LocalProtocolError", "RemoteProtocolError", "RequestRejected",
        "SIP2Error", "SIP2ParseError", "error_site",
    },
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module: str) -> None:
    mod = importlib.import_module(f"ils_gateway.sip2.{module}")
    assert set(mod.__all__) == PUBLIC[module]
    for name in mod.__all__:
        assert hasattr(mod, name)


def test_every_exported_message_and_field_name_exists() -> None:
    for module in ("messages", "fields"):
        mod = importlib.import_module(f"ils_gateway.sip2.{module}")
        missing = [n for n in mod.__all__ if not hasattr(mod, n)]
        assert not missing
