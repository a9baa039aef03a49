"""A legacy byte in a title that a 64 lists (a hold with no copy yet, listed by its title in
CD; every entry on an ACS that lists titles) spoils that title only, never the whole list
(issue 12, lenient decoding). Barcodes stay strict: an AU entry of an ACS that lists barcodes
with such a byte is a protocol error, and an entry holding one is never sent back as an id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

import pytest
from sip2_acs_recording import RecordingACS, backend_config

from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.adapters.sip2.config import title_list_fields
from ils_gateway.adapters.sip2.mapping import parse_list_entry
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import Sip2Quirks, server_settings
from ils_gateway.sip2.codec import CodecSettings, encode, parse
from ils_gateway.sip2.errors import SIP2ParseError
from ils_gateway.sip2.fields import PatronStatus, SipDate
from ils_gateway.sip2.messages import ItemInformationRequest, PatronInformationResponse
from ils_gateway.sip2.server import SIP2Server

HANAKO = ("1000000001", "hanako01")
WAGAHAI = 3  # 吾輩は猫である: every copy lent or set aside, so a hold on it waits untied


@pytest.fixture
def library() -> SimulatedLibrary:
    library = sample_library()
    library.place_hold(HANAKO[0], "CEN", biblio_id=WAGAHAI)
    return library


@pytest.fixture(params=["record_id_title", "title"])
def title_entries(request: pytest.FixtureRequest) -> Literal["record_id_title", "title"]:
    return request.param


@pytest.fixture
async def rig(
    library: SimulatedLibrary, title_entries: Literal["record_id_title", "title"]
) -> AsyncIterator[tuple[RecordingACS, Sip2Backend]]:
    recording = RecordingACS(library, Sip2Quirks(legacy_title_bytes=True))
    recording.acs.title_hold_entries = title_entries
    sent: list[str] = []

    async def note_17s(message, session, handle):  # type: ignore[no-untyped-def]
        if isinstance(message, ItemInformationRequest):
            sent.append(message.item_identifier or "")
        return await handle(message, session)

    recording.intercept = note_17s
    recording.sent_17 = sent  # type: ignore[attr-defined]
    server = SIP2Server(recording.handle, server_settings(recording.acs))
    await server.start()
    backend = Sip2Backend(
        backend_config(server.port, title_hold_entries=title_entries), today=library.today
    )
    await backend.start()
    yield recording, backend
    await backend.close()
    await server.aclose()


async def test_a_legacy_byte_in_a_listed_title_spoils_that_title_only(
    rig: tuple[RecordingACS, Sip2Backend], title_entries: str
) -> None:
    recording, backend = rig
    patron = await backend.authenticate(*HANAKO)

    holds = await backend.list_holds(patron)

    titled = [h for h in holds if h.item.title.startswith("吾輩は猫である")]
    assert len(titled) == 1
    hold = titled[0]
    assert hold.item.title == "吾輩は猫である\ufffd"
    expected_id = "title:3" if title_entries == "record_id_title" else "title:吾輩は猫である\ufffd"
    assert hold.id == expected_id
    assert len(holds) == len(recording.acs.library.holds(HANAKO[0]))
    # The entry with the unreadable byte was never asked about as if it were a barcode.
    assert not any("\ufffd" in barcode for barcode in recording.sent_17)  # type: ignore[attr-defined]


def _with_entry(fid: str, entry: bytes) -> bytes:
    answer = PatronInformationResponse.build(
        patron_status=PatronStatus(),
        transaction_date=SipDate("20250602    100000"),
        institution_id="MIDORI",
        patron_identifier="1000000001",
        personal_name="Jose",
        **{"charged_items" if fid == "AU" else "unavailable_hold_items": ["@@ENTRY@@"]},
        sequence=1,
    )
    body = encode(answer, CodecSettings(), terminator=False)[:-4]
    body = body.replace(b"@@ENTRY@@", entry)
    return body + f"{-sum(body) & 0xFFFF:04X}".encode() + b"\r"


def test_which_lists_are_read_leniently_follows_the_tenant_list_mode() -> None:
    barcodes = backend_config(1)
    titles = backend_config(1, list_mode="title")
    both = backend_config(1, list_mode="item_id_title")
    assert title_list_fields(barcodes) == {"AS", "CD"}
    assert title_list_fields(titles) == title_list_fields(both) == {
        "AS", "AT", "AU", "AV", "BU", "CD"
    }  # fmt: skip
    leniently = CodecSettings(free_text_fields=title_list_fields(barcodes))
    listed = parse(_with_entry("CD", b"3 Caf\xe9"), leniently)
    assert isinstance(listed, PatronInformationResponse)
    assert listed.get_all("CD") == ["3 Caf\ufffd"]
    with pytest.raises(SIP2ParseError) as caught:  # a loan's barcode stays strict
        parse(_with_entry("AU", b"21000\xe9"), leniently)
    assert caught.value.field == "AU"


def test_an_entry_with_an_unreadable_byte_names_no_copy() -> None:
    assert parse_list_entry("2100000013\ufffd", "item_id").item_id is None
    assert parse_list_entry("21\ufffd Caf", "item_id_title").item_id is None
    kept = parse_list_entry("2100000013 Caf\ufffd", "item_id_title")
    assert (kept.item_id, kept.title) == ("2100000013", "Caf\ufffd")
