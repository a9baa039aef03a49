"""Free text the wire encoding cannot write is replaced (when asked), identifiers never are."""

from __future__ import annotations

import pytest

from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import start_sip2_simulator
from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings
from ils_gateway.sip2.codec import CodecSettings, encode, parse
from ils_gateway.sip2.errors import FieldValueError
from ils_gateway.sip2.fields import CirculationStatus, SipDate
from ils_gateway.sip2.messages import ItemInformationRequest, ItemInformationResponse

NOW = SipDate("20250602    100000")
CP932 = CodecSettings(encoding="cp932")
REPLACE = CodecSettings(encoding="cp932", text_errors="replace")
TITLE = "𠮷田さんの本😀"  # 𠮷 (U+20BB7) and the emoji have no CP932 code


def _answer(title: str, barcode: str = "2100000001") -> ItemInformationResponse:
    return ItemInformationResponse.build(
        circulation_status=CirculationStatus.AVAILABLE,
        transaction_date=NOW,
        item_identifier=barcode,
        title_identifier=title,
        screen_messages=[f"{title}は書庫にあります"],
    )


def test_strict_encoding_fails_on_an_unwritable_title() -> None:
    with pytest.raises(FieldValueError):
        encode(_answer(TITLE), CP932)


def test_replace_writes_a_geta_mark_in_titles_and_screen_messages() -> None:
    back = parse(encode(_answer(TITLE), REPLACE), REPLACE)
    assert back.title_identifier == "〓田さんの本〓"
    assert back.screen_messages == ["〓田さんの本〓は書庫にあります"]
    assert back.item_identifier == "2100000001"


def test_replace_keeps_cp932_characters_whose_second_byte_is_a_bar() -> None:
    title = "ポケット竹細工 － 𠮷"
    back = parse(encode(_answer(title), REPLACE), REPLACE)
    assert back.title_identifier == "ポケット竹細工 － 〓"


def test_replace_never_touches_identifiers() -> None:
    with pytest.raises(FieldValueError):
        encode(_answer("本", barcode="𠮷0001"), REPLACE)


def test_an_encoding_without_the_mark_gets_a_question_mark() -> None:
    latin = CodecSettings(encoding="latin-1", text_errors="replace")
    assert parse(encode(_answer("図書"), latin), latin).title_identifier == "??"


async def test_simulator_answers_a_title_cp932_cannot_write() -> None:
    library = sample_library()
    info = library.item_info("2100000001")
    next(b for b in library.data.biblios if b.id == info.biblio_id).title = TITLE
    server, _ = await start_sip2_simulator(library, codec=CP932)
    pool = SIP2ClientPool(
        SIP2ClientSettings(host="127.0.0.1", port=server.port, encoding="cp932", pool_size=1)
    )
    try:
        await pool.start()
        request = ItemInformationRequest.build(
            transaction_date=NOW, institution_id="MIDORI", item_identifier="2100000001"
        )
        answer = await pool.request(request, idempotent=True)
    finally:
        await pool.aclose()
        await server.aclose()
    assert isinstance(answer, ItemInformationResponse)
    assert answer.title_identifier == "〓田さんの本〓"
