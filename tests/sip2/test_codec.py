"""Codec: build/encode/parse of every message type, text encodings, safety, parse errors."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sip2_strategies import ANY_MESSAGE, JAPANESE, messages

from ils_gateway.sip2.codec import CodecSettings, encode, parse
from ils_gateway.sip2.errors import FieldValueError, SIP2ParseError
from ils_gateway.sip2.fields import (
    MAX_FIELD_CHARS,
    CirculationStatus,
    HoldMode,
    PatronStatus,
    PatronStatusFlag,
    SipDate,
    Summary,
    SummaryItem,
)
from ils_gateway.sip2.messages import (
    MESSAGE_TYPES,
    CheckoutRequest,
    HoldRequest,
    ItemInformationResponse,
    LoginRequest,
    Message,
    PatronInformationRequest,
    PatronInformationResponse,
    RenewAllResponse,
)

UTF8 = CodecSettings()
CP932 = CodecSettings(encoding="cp932")
NO_ED = CodecSettings(error_detection=False)
WHEN = SipDate("20240401    093000")

# Every SIP2 2.00 message in both directions (01 is answered by 24).
SPEC_CODES = (
    "93 94 99 98 23 24 63 64 11 12 09 10 01 17 18 19 20 25 26 15 16 29 30 65 66 35 36 37 38 97 96"
)


def test_registry_has_every_message() -> None:
    assert sorted(MESSAGE_TYPES) == sorted(SPEC_CODES.split())
    for code, cls in MESSAGE_TYPES.items():
        assert cls.code == code and cls.__doc__
        if cls.sender == "SC" and code != "97":
            assert cls.response_code in MESSAGE_TYPES


@pytest.mark.parametrize("code", sorted(MESSAGE_TYPES))
@pytest.mark.parametrize("codec", [UTF8, CP932, NO_ED], ids=["utf8", "cp932", "no-ed"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_encode_parse_encode_identity(code: str, codec: CodecSettings, data: st.DataObject) -> None:
    msg = data.draw(messages(MESSAGE_TYPES[code]))
    if not codec.error_detection:
        msg = dataclasses.replace(msg, sequence=None)
    wire = encode(msg, codec)
    back = parse(wire, codec)
    assert type(back) is type(msg)
    assert back.fields == msg.fields
    assert [getattr(back, n) for n in msg._FIXED_NAMES] == [
        getattr(msg, n) for n in msg._FIXED_NAMES
    ]
    assert back.sequence == msg.sequence
    assert encode(back, codec) == wire


def test_build_writes_known_fields_in_spec_order_with_required_ones() -> None:
    msg = PatronInformationResponse.build(
        patron_status=PatronStatus.from_flags({PatronStatusFlag.CARD_REPORTED_LOST}),
        language="014",
        transaction_date=WHEN,
        charged_items_count=2,
        charged_items=["1001", "1002"],
        screen_messages=["貸出中の資料があります"],
        personal_name="山田 太郎",
        patron_identifier="0123456789",
        extra_fields=[("PE", "HALL")],
    )
    assert [f[0] for f in msg.fields] == ["AO", "AA", "AE", "AU", "AU", "AF", "PE"]
    assert msg.charged_items == ["1001", "1002"]
    assert msg.institution_id == "" and msg.hold_items == []
    wire = encode(msg, CP932)
    assert wire.startswith(b"64    Y         0142024040")
    assert wire.endswith(b"\r")
    back = parse(wire, CP932)
    assert back == dataclasses.replace(msg, checksum=back.checksum)
    assert PatronStatusFlag.CARD_REPORTED_LOST in back.patron_status  # type: ignore[attr-defined]


def test_named_accessors_and_enums() -> None:
    hold = HoldRequest.build(
        hold_mode=HoldMode.ADD,
        transaction_date=WHEN,
        pickup_location="竹ノ塚",
        expiration_date=SipDate("20240501    000000"),
        patron_identifier="1",
        title_identifier="ポケモン図鑑",
    )
    back = parse(encode(hold))
    assert isinstance(back, HoldRequest)
    assert back.hold_mode is HoldMode.ADD and back.pickup_location == "竹ノ塚"
    assert back.expiration_date == SipDate("20240501    000000")
    summary = PatronInformationRequest.build(
        transaction_date=WHEN, summary=Summary.of(SummaryItem.CHARGED_ITEMS), start_item="1"
    )
    assert encode(summary, terminator=False).startswith(b"6300020240401    093000  Y       AO|")
    assert parse(encode(summary)).summary.items == {SummaryItem.CHARGED_ITEMS}  # type: ignore[attr-defined]


def test_sip_date_forms() -> None:
    assert SipDate.none().value is None and SipDate.none().is_none
    assert SipDate("20240401   Z093000").value == datetime(2024, 4, 1, 9, 30, tzinfo=UTC)
    assert SipDate("20240401    093000").value == datetime(2024, 4, 1, 9, 30)
    assert SipDate("202404010000093000").value == datetime(2024, 4, 1, 9, 30)
    assert SipDate("2024-04-01").value == datetime(2024, 4, 1)
    assert SipDate("20241301    093000").value is None
    assert SipDate("tomorrow").value is None
    aware = datetime(2024, 4, 1, 18, 30, tzinfo=UTC)
    assert SipDate.from_datetime(aware).raw == "20240401   Z183000"


# --- CP932 -------------------------------------------------------------------------------

PIPE_SECOND_BYTE = "ポ竹掛旨榎芸酢鋼－"


def test_cp932_characters_with_pipe_second_byte() -> None:
    assert all(b"|" in c.encode("cp932") for c in PIPE_SECOND_BYTE)
    msg = ItemInformationResponse.build(
        circulation_status=CirculationStatus.WAITING_ON_HOLD_SHELF,
        transaction_date=WHEN,
        item_identifier="2000001",
        title_identifier=PIPE_SECOND_BYTE,
        permanent_location="竹ノ塚－2F",
    )
    wire = encode(msg, CP932)
    assert wire.count(b"|") > msg.fields.__len__()  # raw split on b"|" would break them
    back = parse(wire, CP932)
    assert back.title_identifier == PIPE_SECOND_BYTE  # type: ignore[attr-defined]
    assert back.permanent_location == "竹ノ塚－2F"  # type: ignore[attr-defined]


def test_undecodable_bytes_name_field_and_offset() -> None:
    good = encode(LoginRequest.build(login_user_id="kiosk", login_password="pw"), NO_ED)
    bad = good.replace(b"kiosk", b"ki\xffsk")
    with pytest.raises(SIP2ParseError) as info:
        parse(bad, CodecSettings(error_detection=False))
    assert info.value.field == "CN" and info.value.offset == 8
    with pytest.raises(SIP2ParseError) as info:
        parse(b"64\x81", CP932)
    assert info.value.field == "patron_status" and info.value.offset == 2


def test_text_is_normalised_to_nfc() -> None:
    decomposed = "ホ\u309a"  # ホ + combining semi-voiced mark = ポ
    msg = LoginRequest.build(login_user_id=decomposed, login_password="x")
    assert msg.login_user_id == "ポ"
    wire = encode(msg, NO_ED).replace("ポ".encode(), decomposed.encode())
    assert parse(wire, NO_ED).login_user_id == "ポ"  # type: ignore[attr-defined]


def test_unencodable_character_names_field() -> None:
    msg = LoginRequest.build(login_user_id="🙂", login_password="x")
    with pytest.raises(FieldValueError) as info:
        encode(msg, CP932)
    assert info.value.field == "CN"


# --- safety -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["a|b", "a\rb", "a\nb"])
def test_pipe_cr_lf_refused_unless_stripping(bad: str) -> None:
    with pytest.raises(FieldValueError) as info:
        CheckoutRequest.build(transaction_date=WHEN, item_identifier=bad)
    assert info.value.field == "AB"
    with pytest.raises(FieldValueError):
        CheckoutRequest(transaction_date=WHEN, fields=(("AB", bad),))
    with pytest.raises(FieldValueError):
        CheckoutRequest.build(transaction_date=WHEN, extra_fields=[("XX", bad)])
    msg = CheckoutRequest.build(transaction_date=WHEN, item_identifier=bad, strip=True)
    assert msg.item_identifier == "ab"


def test_field_length_bounded() -> None:
    LoginRequest.build(login_user_id="x" * MAX_FIELD_CHARS)
    with pytest.raises(FieldValueError):
        LoginRequest.build(login_user_id="x" * (MAX_FIELD_CHARS + 1))


@pytest.mark.parametrize(
    ("cls", "kwargs", "field"),
    [
        (CheckoutRequest, {"transaction_date": "20240401"}, "transaction_date"),
        (CheckoutRequest, {"transaction_date": SipDate("2024-04-01")}, "transaction_date"),
        (PatronInformationRequest, {"transaction_date": WHEN, "language": "JP"}, "language"),
        (
            RenewAllResponse,
            {"ok": True, "transaction_date": WHEN, "renewed_count": 10**4},
            "renewed_count",
        ),
        (RenewAllResponse, {"ok": 1, "transaction_date": WHEN}, "ok"),
        (HoldRequest, {"hold_mode": "+", "transaction_date": WHEN}, "hold_mode"),
        (LoginRequest, {"uid_algorithm": "|"}, "uid_algorithm"),
        (LoginRequest, {"sequence": 10}, "AY"),
    ],
)
def test_fixed_fields_validated(cls: type[Message], kwargs: dict, field: str) -> None:
    with pytest.raises(FieldValueError) as info:
        cls(**kwargs)
    assert info.value.field == field


def test_build_rejects_unknown_names() -> None:
    with pytest.raises(TypeError):
        LoginRequest.build(patron_identifier="1")


def test_repr_masks_passwords_and_cards() -> None:
    text = repr(LoginRequest.build(login_user_id="kiosk", login_password="s3cret"))
    assert "s3cret" not in text
    card = repr(
        PatronInformationRequest.build(
            transaction_date=WHEN, patron_identifier="1234567890", patron_password="9999"
        )
    )
    assert "1234567890" not in card and "7890" in card and "9999" not in card  # fmt: skip


def test_repr_hides_personal_fields_entirely() -> None:
    # A Japanese name is short: keeping its last 4 characters would show most of it.
    frame = (
        "64              00020240101    120000000000000000000000000000"
        "AOMIDORI|AA1234567890|AE山田 花子|BD東京都千代田区1-1|BEhanako@example.jp|BF090-1234-5678|"
    ).encode()
    text = repr(parse(frame, CodecSettings(error_detection=False)))
    for secret in ("田 花子", "花子", "1-1", "example.jp", "5678"):
        assert secret not in text
    assert "7890" in text  # the card keeps its last four digits


# --- malformed input --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        (b"", "command"),
        (b"X", "command"),
        (b"42", "command"),
        (b"94", "ok"),
        (b"942", "ok"),
        (b"1808000120240401", "transaction_date"),
        (b"1899000120240401    093000", "circulation_status"),
        (b"6400000000000000000", "patron_status"),
        (b"941AOx||", "|"),
        (b"941A|", "A"),
        (b"941AYxAZ0000", "AY"),
        (b"94\r1", "frame"),
    ],
)
def test_malformed_frames_raise_the_parse_error(frame: bytes, field: str) -> None:
    with pytest.raises(SIP2ParseError) as info:
        parse(frame, CodecSettings(verify_checksum=False))
    assert info.value.field == field


def test_missing_or_wrong_checksum_when_verifying() -> None:
    with pytest.raises(SIP2ParseError, match="no AZ"):
        parse(b"941")
    with pytest.raises(SIP2ParseError, match="mismatch"):
        parse(b"941AY0AZ0000")
    assert parse(b"941AY0AZ0000", CodecSettings(verify_checksum=False)).sequence == 0
    assert parse(b"941", CodecSettings(error_detection=False)).ok  # type: ignore[attr-defined]


def test_frame_size_bounded() -> None:
    codec = CodecSettings(error_detection=False, max_frame_bytes=100)
    parse(b"941AF" + b"x" * 95, codec)
    with pytest.raises(SIP2ParseError) as info:
        parse(b"941AF" + b"x" * 96, codec)
    assert info.value.field == "frame"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.sampled_from([UTF8, CP932, NO_ED]))
def test_random_bytes_raise_only_the_parse_error(data: bytes, codec: CodecSettings) -> None:
    try:
        parse(data, codec)
    except SIP2ParseError:
        pass


@settings(max_examples=200, deadline=None)
@given(ANY_MESSAGE, st.data())
def test_mutated_frames_raise_only_the_parse_error(msg: Message, data: st.DataObject) -> None:
    wire = bytearray(encode(msg, CP932, terminator=False))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(wire)))
        wire[pos:pos] = data.draw(st.sampled_from([b"|", b"\x81", b"A", b"9", b" ", b"AZ"]))
    for codec in (CP932, NO_ED, CodecSettings(encoding="cp932", verify_checksum=False)):
        try:
            back = parse(bytes(wire), codec)
        except SIP2ParseError:
            continue
        assert isinstance(back, Message)


def test_japanese_alphabet_used_by_strategies_is_cp932() -> None:
    JAPANESE.encode("cp932")
