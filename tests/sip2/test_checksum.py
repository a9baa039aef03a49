"""The AZ checksum: worked examples, byte versus character basis."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ils_gateway.sip2.checksum import (
    ChecksumBasis,
    checksum_of_bytes,
    checksum_of_text,
    compute_checksum,
)
from ils_gateway.sip2.codec import CodecSettings, encode, parse
from ils_gateway.sip2.errors import SIP2ParseError
from ils_gateway.sip2.fields import PatronStatus, SipDate
from ils_gateway.sip2.messages import PatronStatusResponse


def test_worked_example_from_folio() -> None:
    # Reference frame [37]: 9900401.00AY1AZFCA5
    assert checksum_of_bytes(b"9900401.00AY1AZ") == "FCA5"
    assert checksum_of_text("9900401.00AY1AZ") == "FCA5"


def test_four_uppercase_hex_digits() -> None:
    assert checksum_of_bytes(b"") == "0000"
    assert checksum_of_bytes(b"\x01") == "FFFF"
    assert checksum_of_bytes(b"\xff" * 300) == f"{-(255 * 300) & 0xFFFF:04X}"


@given(st.text(alphabet="abcXYZ019|ポ竹", max_size=50))
def test_bases_agree_for_ascii_only(text: str) -> None:
    data = text.encode("utf-8")
    same = compute_checksum(text, data, ChecksumBasis.BYTES) == compute_checksum(
        text, data, ChecksumBasis.CHARACTERS
    )
    if text.isascii():
        assert same


def _japanese_message() -> PatronStatusResponse:
    return PatronStatusResponse.build(
        patron_status=PatronStatus(),
        language="014",
        transaction_date=SipDate("20240401    093000"),
        institution_id="竹ノ塚図書館",
        patron_identifier="12345678",
        personal_name="ポール・竹内",
        sequence=3,
    )


def test_character_basis_differs_for_japanese_and_each_verifies_itself() -> None:
    msg = _japanese_message()
    for encoding in ("utf-8", "cp932"):
        by_bytes = CodecSettings(encoding=encoding)
        by_chars = CodecSettings(encoding=encoding, checksum_basis=ChecksumBasis.CHARACTERS)
        a, b = encode(msg, by_bytes), encode(msg, by_chars)
        assert a[:-5] == b[:-5] and a[-5:] != b[-5:]
        assert parse(a, by_bytes).personal_name == "ポール・竹内"
        assert parse(b, by_chars).personal_name == "ポール・竹内"
        for frame, wrong in ((a, by_chars), (b, by_bytes)):
            try:
                parse(frame, wrong)
            except SIP2ParseError as exc:
                assert exc.field == "AZ"
            else:
                raise AssertionError("checksum on the wrong basis verified")
