"""One byte the tenant's encoding cannot decode spoils one free-text field, never a whole frame.

A legacy byte in a title (Latin-1 in a UTF-8 stream, sip2.md "More real-server behaviour") is
common in old records: titles, screen and print lines, names and addresses are decoded with
U+FFFD for it and the field id is logged (never its value); identifiers (AA, AB, AO, CN, list
entries) stay strict, a protocol error. The frame is still decoded as a whole before it is
split on ``|`` (CP932 second bytes can be 0x7C), and the checksum is still over the bytes.
"""

from __future__ import annotations

import pytest
import structlog

from ils_gateway.sip2.checksum import ChecksumBasis
from ils_gateway.sip2.codec import CodecSettings, encode, parse
from ils_gateway.sip2.errors import SIP2ParseError
from ils_gateway.sip2.fields import CirculationStatus, PatronStatus, SipDate
from ils_gateway.sip2.messages import ItemInformationResponse, PatronInformationResponse

NOW = SipDate("20250602    100000")
UTF8 = CodecSettings()
CP932 = CodecSettings(encoding="cp932")
LATIN1_E = b"\xe9"  # é in Latin-1: not UTF-8


def item_frame(
    title: bytes, barcode: bytes = b"2100000001", settings: CodecSettings = UTF8
) -> bytes:
    """An 18 with ``title`` and ``barcode`` spliced in as raw bytes, with a valid checksum."""
    answer = ItemInformationResponse.build(
        circulation_status=CirculationStatus.AVAILABLE,
        transaction_date=NOW,
        item_identifier="@@BARCODE@@",
        title_identifier="@@TITLE@@",
        screen_messages=["@@TITLE@@"],
        sequence=1,
    )
    body = encode(answer, settings, terminator=False)[:-4]  # up to and including "AZ"
    body = body.replace(b"@@BARCODE@@", barcode).replace(b"@@TITLE@@", title)
    return body + f"{-sum(body) & 0xFFFF:04X}".encode() + b"\r"


def test_a_legacy_byte_in_a_title_is_replaced_and_the_field_logged() -> None:
    with structlog.testing.capture_logs() as logs:
        msg = parse(item_frame(b"Caf" + LATIN1_E + b" noir"), UTF8)
    assert msg.title_identifier == "Caf\ufffd noir"
    assert msg.screen_messages == ["Caf\ufffd noir"]
    assert msg.item_identifier == "2100000001"
    logged = [e for e in logs if e["event"] == "sip2.codec.undecodable_text"]
    assert [e["field"] for e in logged] == ["AJ", "AF"]
    assert all("noir" not in repr(e) and "Caf" not in repr(e) for e in logged)
    assert logged[0]["encoding"] == "utf-8" and logged[0]["code"] == "18"


def patron_frame(name: bytes, card: bytes = b"1000000001", entry: bytes = b"2100000001") -> bytes:
    """A 64 with name (AE), card (AA) and one hold entry (AS) spliced in as raw bytes."""
    answer = PatronInformationResponse.build(
        patron_status=PatronStatus(),
        transaction_date=NOW,
        institution_id="MIDORI",
        patron_identifier="@@AA@@",
        personal_name="@@AE@@",
        hold_items=["@@AS@@"],
        sequence=1,
    )
    body = encode(answer, UTF8, terminator=False)[:-4]
    body = body.replace(b"@@AE@@", name).replace(b"@@AA@@", card).replace(b"@@AS@@", entry)
    return body + f"{-sum(body) & 0xFFFF:04X}".encode() + b"\r"


@pytest.mark.parametrize(
    ("field", "frame"),
    [
        ("AB", item_frame(b"title", barcode=b"21000" + LATIN1_E)),
        ("AA", patron_frame(b"Jose", card=b"10" + LATIN1_E)),
        ("AS", patron_frame(b"Jose", entry=b"21" + LATIN1_E)),
    ],
)
def test_an_undecodable_byte_in_an_id_is_a_protocol_error(field: str, frame: bytes) -> None:
    with pytest.raises(SIP2ParseError) as caught:
        parse(frame, UTF8)
    assert caught.value.field == field


def test_a_name_with_a_legacy_byte_is_read() -> None:
    msg = parse(patron_frame(b"Jos" + LATIN1_E), UTF8)
    assert msg.personal_name == "Jos\ufffd"
    assert msg.patron_identifier == "1000000001"
    assert msg.hold_items == ["2100000001"]


def test_a_bad_byte_in_a_fixed_field_is_a_protocol_error() -> None:
    frame = item_frame(b"title")
    broken = frame[:2] + b"0" + LATIN1_E + frame[4:]
    with pytest.raises(SIP2ParseError):
        parse(broken, CodecSettings(error_detection=False))


def test_cp932_bad_byte_next_to_a_0x7c_second_byte_keeps_the_split() -> None:
    # ポ is 0x83 0x7C; 0x85 0x7C is no CP932 character: its lead byte alone is replaced and the
    # 0x7C is then the field separator it stands for.
    title = "ポスター".encode("cp932") + b"\x85"
    msg = parse(item_frame(title, settings=CP932), CP932)
    assert msg.title_identifier == "ポスター\ufffd"
    assert msg.item_identifier == "2100000001"
    assert msg.screen_messages == ["ポスター\ufffd"]


def test_checksum_is_still_checked_on_a_frame_with_a_bad_byte() -> None:
    frame = item_frame(b"Caf" + LATIN1_E)
    wrong = frame[:-5] + (b"0000" if frame[-5:-1] != b"0000" else b"0001") + b"\r"
    with pytest.raises(SIP2ParseError) as caught:
        parse(wrong, UTF8)
    assert caught.value.field == "AZ"


def test_character_checksums_count_an_undecodable_byte_as_its_value() -> None:
    chars = CodecSettings(checksum_basis=ChecksumBasis.CHARACTERS)
    frame = item_frame(b"Caf" + LATIN1_E)
    assert parse(frame, chars).title_identifier == "Caf\ufffd"
