"""A whole self-check session through the gateway's SIP2 face, on one TCP connection, as a
machine runs it: 93 login, 99 status, 63 patron information, 11 checkout of five items, 63
again (the five barcodes in AU), 29 renew, 09 check-in (one copy another patron waits for:
alerted, not resensitized, sorted to the hold bin), 63, 35 end session — over each backend
kind: the SIP2 simulator's ACS, the Koha REST simulator and the FOLIO simulator.

Koha's REST API lends (``POST /checkouts``) but takes nothing back: its 98 leaves 09 out of
BX, and a 09 is a 10 ok=0 with a screen message, the copy still on loan.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

import pytest
from kiosk_support import (
    CARD,
    FREE,
    FREE_2,
    PASSWORD,
    SC_PASSWORD,
    SC_USER,
    Clock,
    Setup,
    library_data,
    running,
)

from ils_gateway.simulators.library import TOKYO
from ils_gateway.simulators.policy import HoldState, ItemType
from ils_gateway.simulators.records import Biblio, Hold, Item, LibraryData
from ils_gateway.sip2.codec import CodecSettings, encode, parse
from ils_gateway.sip2.fields import SipDate, Summary, SummaryItem, SupportedMessages
from ils_gateway.sip2.messages import (
    ACSStatus,
    CheckinRequest,
    CheckinResponse,
    CheckoutRequest,
    CheckoutResponse,
    EndPatronSessionRequest,
    EndSessionResponse,
    LoginRequest,
    LoginResponse,
    Message,
    PatronInformationRequest,
    PatronInformationResponse,
    RenewRequest,
    RenewResponse,
    SCStatus,
)

_WHEN = SipDate.from_datetime(datetime(2026, 1, 10, 10, 0))
EXTRA = {"2000108": "こころ", "2000109": "三四郎", "2000110": "それから"}
TITLES = {FREE: "ぐりとぐら", FREE_2: "坊っちゃん", **EXTRA}
FIVE = tuple(TITLES)
# The title the other patron waits for: its copy goes to the hold shelf at check-in.
WANTED = "2000108"
M = TypeVar("M", bound=Message)
# The library sorts returns: a copy caught for a hold goes to bin H1 (CL).
_SORTING = '\n[tenants.kiosk_sip2.reply.checkin]\nhold_sort_bin = "H1"\n'


def session_data() -> LibraryData:
    """The kiosk library with three more copies on the shelf, and the other patron's hold on
    the title of one of them (no copy set aside yet: it waits for one to come back)."""
    data = library_data()
    for offset, (barcode, title) in enumerate(EXTRA.items()):
        biblio_id = 8 + offset
        data.biblios.append(Biblio(biblio_id, title, "夏目漱石", ItemType.BOOK))
        data.items.append(Item(108 + offset, barcode, biblio_id, "CEN", "CEN", "913/ナ"))
    placed = datetime(2026, 1, 9, 9, 0, tzinfo=TOKYO)
    data.holds.append(Hold(1, 2, 8, "CEN", placed, HoldState.PENDING))
    return data


class Terminal:
    """One self-check machine on one connection: frames in the face's codec (UTF-8, CR,
    error detection), AY counting 0 to 9 and echoed back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._codec = CodecSettings()
        self._sequence = 0

    async def send(self, kind: type[Message], answer: type[M], **values: Any) -> M:
        sequence = self._sequence
        self._sequence = (sequence + 1) % 10
        self._writer.write(encode(kind.build(sequence=sequence, **values), self._codec))
        await self._writer.drain()
        reply = parse(await self._reader.readuntil(b"\r"), self._codec)
        assert isinstance(reply, answer), reply
        assert reply.sequence == sequence
        return reply


@asynccontextmanager
async def terminal(setup: Setup) -> AsyncIterator[Terminal]:
    reader, writer = await asyncio.open_connection("127.0.0.1", setup.port)
    try:
        yield Terminal(reader, writer)
    finally:
        writer.close()
        await writer.wait_closed()


def _patron(**values: Any) -> dict[str, Any]:
    return {
        "transaction_date": _WHEN,
        "institution_id": "TEST",
        "patron_identifier": CARD,
        "patron_password": PASSWORD,
        **values,
    }


async def _charged(machine: Terminal) -> PatronInformationResponse:
    return await machine.send(
        PatronInformationRequest,
        PatronInformationResponse,
        **_patron(summary=Summary.of(SummaryItem.CHARGED_ITEMS)),
    )


@pytest.mark.parametrize("backend", ["sip2", "koha", "folio"])
async def test_a_whole_self_check_session(backend: str) -> None:
    clock = Clock()
    async with (
        running(backend, clock, data=session_data(), extra=_SORTING) as setup,
        terminal(setup) as machine,
    ):
        login = await machine.send(
            LoginRequest,
            LoginResponse,
            login_user_id=SC_USER,
            login_password=SC_PASSWORD,
            location_code="CEN-SC1",
        )
        assert login.ok

        status = await machine.send(SCStatus, ACSStatus)
        supported = SupportedMessages.from_bx(status.supported_messages)
        assert status.checkout_ok and supported.checkout and supported.renew
        assert supported.patron_information and supported.end_patron_session
        assert supported.checkin is (backend != "koha")
        assert status.checkin_ok is (backend != "koha")

        before = await _charged(machine)
        assert before.get("BL") == "Y" and before.get("CQ") == "Y"
        assert before.get("AE") == "山田 花子"
        assert before.charged_items_count == 0 and before.get_all("AU") == []

        due_dates = []
        for barcode in FIVE:
            out = await machine.send(
                CheckoutRequest, CheckoutResponse, **_patron(item_identifier=barcode)
            )
            assert out.ok, (barcode, out.screen_messages)
            assert out.get("AB") == barcode and out.get("AA") == CARD
            assert out.get("AJ") == TITLES[barcode]
            due_dates.append(out.get("AH") or "")
        assert all(d.startswith("2026") for d in due_dates)
        # The library system agrees: five loans of this patron.
        lent = {ln.barcode for ln in setup.sim.loans(CARD)}
        assert lent == set(FIVE)

        # Every charged item by the barcode a machine scans (FOLIO's own ids are UUIDs).
        after = await _charged(machine)
        assert after.charged_items_count == 5
        assert sorted(after.get_all("AU")) == sorted(FIVE)

        again = await machine.send(
            CheckoutRequest, CheckoutResponse, **_patron(item_identifier=FREE)
        )
        assert not again.ok and again.screen_messages  # already hers: refused, with words

        clock.advance(days=3)
        renewed = await machine.send(RenewRequest, RenewResponse, **_patron(item_identifier=FREE_2))
        assert renewed.ok, renewed.screen_messages
        assert (renewed.get("AH") or "") > due_dates[1]
        assert renewed.get("AB") == FREE_2

        back = await machine.send(
            CheckinRequest,
            CheckinResponse,
            transaction_date=_WHEN,
            return_date=_WHEN,
            current_location="CEN",
            institution_id="TEST",
            item_identifier=WANTED,
        )
        assert back.get("AB") == WANTED
        if backend == "koha":
            assert not back.ok
            assert back.screen_messages == ["この機械ではご利用いただけません"]
            assert WANTED in {ln.barcode for ln in setup.sim.loans(CARD)}
        else:
            assert back.ok, back.screen_messages
            assert back.get("AJ") == TITLES[WANTED]
            # The other patron's hold: the copy stays here for the hold shelf.
            assert back.alert and not back.resensitize
            assert back.get("CL") == "H1"
            assert WANTED not in {ln.barcode for ln in setup.sim.loans(CARD)}

        listed = await _charged(machine)
        expected = set(FIVE) - ({WANTED} if backend != "koha" else set())
        assert set(listed.get_all("AU")) == expected

        end = await machine.send(
            EndPatronSessionRequest,
            EndSessionResponse,
            transaction_date=_WHEN,
            institution_id="TEST",
            patron_identifier=CARD,
            patron_password=PASSWORD,
        )
        assert end.end_session and end.get("AA") == CARD
