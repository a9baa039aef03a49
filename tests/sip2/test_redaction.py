"""One redaction table (``sip2.redaction.REDACTION``) hides SIP2 secrets wherever a message
becomes text: its repr, and the frame logs of the client and of the server face."""

from __future__ import annotations

import pytest

from ils_gateway.sip2 import client, redaction, server
from ils_gateway.sip2.codec import CodecSettings, encode, parse
from ils_gateway.sip2.messages import MESSAGE_TYPES, Message
from ils_gateway.sip2.redaction import REDACTION, Redaction, loggable, mask_card, redact

PLAIN = CodecSettings(error_detection=False)
CARD = "2100012345678"
VALUES = {
    Redaction.SECRET: "S3cret-pw",
    Redaction.CARD: CARD,
    Redaction.PERSONAL: "山田 花子",
    Redaction.READING: "ITEM-4242",
}


def _carrying(cls: type[Message]) -> Message:
    """A message of ``cls`` with every redacted field it names set; fixed fields from a
    blank frame of the class, so that no fixed value needs inventing here."""
    fields = tuple(
        (v.field_id, VALUES[REDACTION[v.field_id]]) for v in cls.VARIABLE if v.field_id in REDACTION
    )
    return cls(**{s.name: _fixed_default(cls, s.name) for s in cls.FIXED}, fields=fields)


def _fixed_default(cls: type[Message], name: str) -> object:
    from ils_gateway.sip2 import fields as f

    kind = next(s.kind for s in cls.FIXED if s.name == name)
    samples: dict[int, str] = {1: "N", 2: "01", 3: "000", 4: "0000", 10: " " * 10, 14: " " * 14}
    text = samples.get(kind.width, "20240101    120000")
    if isinstance(kind, f.ZeroOne):
        text = "1"
    if isinstance(kind, f.EnumCode):
        return next(iter(kind.enum))
    if isinstance(kind, f.Code) and kind.width == 4:
        text = "2.00"
    if isinstance(kind, f.AnyChar):
        text = "0"
    value, _ = kind.read(text, 0)
    return value


REDACTED_CLASSES = [
    cls for cls in MESSAGE_TYPES.values() if any(v.field_id in REDACTION for v in cls.VARIABLE)
]


def test_the_table_names_passwords_cards_and_personal_fields() -> None:
    assert {f for f, how in REDACTION.items() if how is Redaction.SECRET} == {"AC", "AD", "CO"}
    assert {f for f, how in REDACTION.items() if how is Redaction.CARD} == {"AA"}
    assert {"AE", "BD", "BE", "BF"} <= {f for f, h in REDACTION.items() if h is Redaction.PERSONAL}


@pytest.mark.parametrize("cls", REDACTED_CLASSES, ids=lambda c: c.code)
def test_repr_and_logs_of_every_message_hide_what_the_table_names(cls: type[Message]) -> None:
    built = _carrying(cls)
    received = parse(encode(built, PLAIN), PLAIN)
    for message in (built, received):
        texts = [repr(message), str(message), repr(loggable(message))]
        for text in texts:
            assert "S3cret-pw" not in text and "花子" not in text and CARD not in text
            assert "ITEM-4242" not in text
        if "AA" in dict(message.fields):
            assert all("*********5678" in text for text in texts)


def test_client_and_server_logs_use_the_one_table() -> None:
    assert client.loggable is redaction.loggable
    assert server.loggable is redaction.loggable


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("", ""),
        ("1", "*"),
        ("12", "*2"),
        ("1234", "*234"),
        ("12345", "*2345"),
        (CARD, "*********5678"),
    ],
)
def test_a_card_number_is_never_shown_whole(value: str, shown: str) -> None:
    assert mask_card(value) == shown == redact("AA", value)


def test_an_empty_password_stays_empty_and_a_set_one_gives_no_length() -> None:
    assert redact("AD", "") == ""
    assert redact("AD", "x") == redact("CO", "a much longer password") == "***"
    assert redact("AE", "山田 花子") == "<5 chars>"
    # Issue 15: an item next to a patron is a reading record, so items show their length only.
    assert redact("AB", "2100000000042") == "<13 chars>"
    assert redact("AO", "CENTRAL") == "CENTRAL"  # fields outside the table are shown as they are
