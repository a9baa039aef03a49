"""Every frame in the shared reference file parses and round-trips to the same bytes."""

from __future__ import annotations

import dataclasses

import pytest
from sip2_wire_examples import WireExample, load_examples

from ils_gateway.sip2.codec import CodecSettings, encode, parse
from ils_gateway.sip2.errors import SIP2ParseError
from ils_gateway.sip2.fields import CirculationStatus, PatronStatusFlag
from ils_gateway.sip2.messages import (
    ACSStatus,
    LoginRequest,
    PatronInformationResponse,
    RequestSCResend,
)

EXAMPLES = load_examples()
OK_FRAMES = [e for e in EXAMPLES if e.checksum_ok]
BAD_FRAMES = [e for e in EXAMPLES if e.error_detection and not e.checksum_ok]
NO_ED_FRAMES = [e for e in EXAMPLES if not e.error_detection]


def test_reference_file_has_all_kinds() -> None:
    assert len(EXAMPLES) >= 25
    assert OK_FRAMES and BAD_FRAMES and NO_ED_FRAMES


@pytest.mark.parametrize("ex", OK_FRAMES, ids=lambda e: e.id)
def test_ok_frames_verify_and_round_trip(ex: WireExample) -> None:
    settings = CodecSettings(verify_checksum=True)
    msg = parse(ex.frame, settings)
    assert encode(msg, settings, terminator=False) == ex.frame
    assert msg.checksum is not None


@pytest.mark.parametrize("ex", BAD_FRAMES, ids=lambda e: e.id)
def test_bad_frames_fail_verification(ex: WireExample) -> None:
    with pytest.raises(SIP2ParseError) as info:
        parse(ex.frame, CodecSettings(verify_checksum=True))
    assert info.value.field == "AZ"


@pytest.mark.parametrize("ex", BAD_FRAMES, ids=lambda e: e.id)
def test_bad_frames_parse_unverified_and_round_trip(ex: WireExample) -> None:
    settings = CodecSettings(verify_checksum=False)
    msg = parse(ex.frame, settings)
    assert encode(msg, settings, keep_checksum=True, terminator=False) == ex.frame
    # Re-encoding without keep_checksum writes a correct checksum that then verifies.
    again = parse(encode(msg, settings), CodecSettings())
    assert again == dataclasses.replace(msg, checksum=again.checksum)


@pytest.mark.parametrize("ex", NO_ED_FRAMES, ids=lambda e: e.id)
def test_frames_without_error_detection(ex: WireExample) -> None:
    settings = CodecSettings(error_detection=False)
    msg = parse(ex.frame, settings)
    assert encode(msg, settings, terminator=False) == ex.frame
    with pytest.raises(SIP2ParseError):
        parse(ex.frame, CodecSettings())


@pytest.mark.parametrize("ex", EXAMPLES, ids=lambda e: e.id)
@pytest.mark.parametrize("terminator", [b"\r", b"\r\n", b"\n", b"\n\r"])
def test_any_terminator_is_accepted(ex: WireExample, terminator: bytes) -> None:
    settings = CodecSettings(error_detection=ex.error_detection, verify_checksum=ex.checksum_ok)
    assert parse(ex.frame + terminator, settings) == parse(ex.frame, settings)


def _by_label(label: str) -> WireExample:
    return next(e for e in EXAMPLES if e.label == label)


def test_sirsi_acs_status_fields() -> None:
    msg = parse(_by_label("[18]").frame)
    assert isinstance(msg, ACSStatus)
    assert msg.online_status and not msg.offline_ok
    assert msg.timeout_period == 10 and msg.retries_allowed == 3
    assert msg.library_name == "St. Albert Public Library"
    assert msg.supported_messages == "YYYYYYYYYYYYYYYY"
    assert msg.unknown_fields == [("VN", "SIP 2.00.106 SirsiDynix Inc. 7.5.074.40")]
    assert msg.sequence == 1 and msg.date_time_sync.value is not None


def test_unknown_fields_kept_in_order() -> None:
    msg = parse(_by_label("[29]").frame)
    assert [f[0] for f in msg.fields] == ["AO", "ZZ", "BX", "AM", "AN", "XZ"]


def test_polaris_vendor_fields_and_repeats() -> None:
    msg = parse(_by_label("[23]").frame, CodecSettings(verify_checksum=False))
    assert isinstance(msg, PatronInformationResponse)
    assert [f[0] for f in msg.unknown_fields] == [
        "BC", "PA", "PE", "PS", "U1", "U2", "U3", "U4", "U5", "PZ", "PX", "PY", "FA",
    ]  # fmt: skip
    assert msg.personal_name == "Falk, Jen"
    assert msg.valid_patron is True


def test_spec_example_with_short_date_and_repeats() -> None:
    msg = parse(_by_label("[32]").frame, CodecSettings(verify_checksum=False))
    assert isinstance(msg, PatronInformationResponse)
    assert msg.transaction_date.raw == "19980723 104009"
    assert msg.transaction_date.value is not None
    assert msg.transaction_date.value.hour == 10
    assert (msg.hold_items_count, msg.charged_items_count, msg.fine_items_count) == (1, 2, 1)
    assert msg.charged_items == ["ChargeItem1", "ChargeItem2"]
    assert len(msg.screen_messages) == 3 and len(msg.print_lines) == 3


def test_sierra_invalid_pin_status_flags() -> None:
    msg = parse(_by_label("[22]").frame, CodecSettings(verify_checksum=False))
    assert isinstance(msg, PatronInformationResponse)
    assert PatronStatusFlag.CHARGE_PRIVILEGES_DENIED in msg.patron_status
    assert PatronStatusFlag.RENEWAL_PRIVILEGES_DENIED not in msg.patron_status
    assert msg.valid_patron_password is False
    assert msg.transaction_date.raw[8:12] == "0000"


def test_free_form_due_date_in_item_information() -> None:
    msg = parse(_by_label("[27]").frame)
    assert msg.circulation_status is CirculationStatus.CHARGED  # type: ignore[attr-defined]
    due = msg.due_date  # type: ignore[attr-defined]
    assert due.raw == "2023-08-31 23:59:00 CEST"
    assert due.value is not None and (due.value.day, due.value.hour) == (31, 23)


def test_malformed_login_keeps_stray_ay_as_a_field() -> None:
    msg = parse(_by_label("[20]").frame, CodecSettings(error_detection=False))
    assert isinstance(msg, LoginRequest)
    assert msg.uid_algorithm == " " and msg.location_code == ""
    assert msg.get("AY") == "F765" and not msg.last_field_terminated
    assert msg.checksum is None


def test_bare_96() -> None:
    ex = next(e for e in NO_ED_FRAMES if e.frame == b"96")
    assert isinstance(parse(ex.frame, CodecSettings(error_detection=False)), RequestSCResend)
