"""The SIP2 adapter against an ACS built on pysip2 (a strict third-party SIP2 server).

Every test runs the adapter's operations over real TCP through a recording relay, then has
pysip2 decode every frame our client sent: each must be a valid SIP2 2.00 request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from peer_acs import (
    CARD,
    FREE,
    INSTITUTION,
    LOGIN_PASSWORD,
    LOGIN_USER,
    ON_LOAN,
    ON_SHELF,
    OVERDUE,
    PASSWORD,
    QUEUED,
    TITLE,
    TITLE_RECORD,
    TODAY,
    FixtureLibrary,
    PeerACS,
)
from peer_wire import FrameTap, codes, decode_requests, strict_requests, strict_responses
from pysip2 import HoldRequest, SIP2ChecksumError, decode_message

from ils_gateway.adapters.base import Capability
from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.adapters.sip2.config import client_settings
from ils_gateway.domain.models import Patron
from ils_gateway.sip2.client import SIP2ClientPool
from ils_gateway.tenants.backends import Sip2Backend as Sip2BackendConfig


@dataclass
class Peer:
    acs: PeerACS
    tap: FrameTap
    backend: Sip2Backend

    @property
    def library(self) -> FixtureLibrary:
        return self.acs.library

    def requests(self) -> list[str]:
        """Codes of every frame our client sent, each one decoded strictly by pysip2."""
        return codes(strict_requests(self.tap))


def config(port: int, **extra: object) -> Sip2BackendConfig:
    return Sip2BackendConfig.model_validate(
        {
            "kind": "sip2",
            "host": "127.0.0.1",
            "port": port,
            "login_user": LOGIN_USER,
            "login_password": LOGIN_PASSWORD,
            "institution_id": INSTITUTION,
            "pool_size": 1,
            "title_hold_entries": "record_id_title",  # as this ACS lists holds with no copy
            **extra,
        }
    )


@pytest.fixture
def renew_route() -> bool:
    return True


@pytest.fixture
def extra_config() -> dict[str, object]:
    return {}


@pytest.fixture
async def peer(renew_route: bool, extra_config: dict[str, object]) -> AsyncIterator[Peer]:
    acs = PeerACS(FixtureLibrary.build(), renew=renew_route)
    async with acs.running() as port, FrameTap(port) as tap:
        backend = Sip2Backend(config(tap.port, **extra_config), today=lambda: TODAY)
        await backend.start()
        try:
            yield Peer(acs, tap, backend)
        finally:
            await backend.close()


async def _login(peer: Peer) -> Patron:
    return await peer.backend.authenticate(CARD, PASSWORD)


async def test_login_and_status_then_patron_information(peer: Peer) -> None:
    patron = await _login(peer)
    assert patron.name == "山田 花子"
    assert (patron.loans_count, patron.overdue_count) == (2, 1)
    assert (patron.holds_count, patron.holds_ready_count) == (3, 1)
    summary = await peer.backend.patron_summary(patron)
    assert summary.loans_count == 2
    assert peer.requests() == ["93", "99", "63", "63"]
    strict_responses(peer.tap)


async def test_wrong_password_is_refused(peer: Peer) -> None:
    from ils_gateway.domain.errors import AuthenticationFailed

    with pytest.raises(AuthenticationFailed):
        await peer.backend.authenticate(CARD, "nope")
    assert peer.requests() == ["93", "99", "63"]


async def test_loans_list(peer: Peer) -> None:
    loans = await peer.backend.list_loans(await _login(peer))
    by_id = {loan.item.id: loan for loan in loans}
    assert set(by_id) == {ON_LOAN, OVERDUE}
    assert by_id[OVERDUE].days_overdue == 7
    assert by_id[ON_LOAN].item.title == "吾輩は猫である"
    assert sorted(peer.requests()[3:]) == ["17", "17", "63"]


async def test_holds_list(peer: Peer) -> None:
    holds = await peer.backend.list_holds(await _login(peer))
    by_id = {hold.id: hold for hold in holds}
    title_hold = f"title:{TITLE_RECORD}"
    assert set(by_id) == {ON_SHELF, QUEUED, title_hold}
    assert by_id[ON_SHELF].status.value == "ready"
    assert by_id[QUEUED].status.value == "waiting"
    assert by_id[title_hold].item.title == TITLE and by_id[title_hold].title_level
    # one 17 per entry: the title entry is asked about too, and read as a title when unknown
    assert sorted(peer.requests()[3:]) == ["17", "17", "17", "63", "63"]


async def test_a_title_hold_is_cancelled_by_its_record_id(peer: Peer) -> None:
    """A hold with no copy is named by its title record: the 15 carries AJ and no AB."""
    patron = await _login(peer)
    await peer.backend.cancel_hold(patron, f"title:{TITLE_RECORD}")
    assert peer.library.title_holds[TITLE_RECORD] == []
    # the cancel is read back afterwards (63 and 17s), so the 15 is the last hold request
    sent = [r for r in strict_requests(peer.tap) if isinstance(r, HoldRequest)][-1]
    assert (sent.hold_mode, sent.item_identifier, sent.title_identifier) == ("-", None, "900")


async def test_item_information(peer: Peer) -> None:
    item = await peer.backend.get_item(FREE)
    assert item.title == "こころ"
    assert peer.requests() == ["93", "99", "17"]


async def test_hold_place_and_cancel(peer: Peer) -> None:
    patron = await _login(peer)
    placed = await peer.backend.place_hold(patron, FREE, "CEN")
    assert placed.id == FREE
    assert [h.card for h in peer.library.copies[FREE].holds] == [CARD]
    await peer.backend.cancel_hold(patron, FREE)
    assert peer.library.copies[FREE].holds == []
    assert "15" in peer.requests()
    assert peer.acs.requests.count("15") == 2


async def test_end_session_from_our_client(peer: Peer) -> None:
    """The adapter never ends a patron session (SIP2 makes 35 optional); our client's 35
    frame is checked all the same, sent through the adapter's own pool."""
    from ils_gateway.sip2.fields import SipDate
    from ils_gateway.sip2.messages import EndPatronSessionRequest, EndSessionResponse

    pool = SIP2ClientPool(client_settings(config(peer.tap.port)))
    async with pool:
        answer = await pool.request(
            EndPatronSessionRequest.build(
                transaction_date=SipDate.from_datetime(datetime(2026, 2, 1, 10, 0)),
                institution_id=INSTITUTION,
                patron_identifier=CARD,
                patron_password=PASSWORD,
            ),
            idempotent=True,
        )
    assert isinstance(answer, EndSessionResponse) and answer.end_session
    assert peer.requests()[-1] == "35"


async def test_renew(peer: Peer) -> None:
    patron = await _login(peer)
    result = await peer.backend.renew(patron, ON_LOAN)
    assert result.loan is not None and result.loan.due_date == date(2026, 2, 15)
    assert peer.requests()[-1] == "29"


async def test_renew_refused(peer: Peer) -> None:
    from ils_gateway.domain.errors import RenewalRefused

    patron = await _login(peer)
    with pytest.raises(RenewalRefused):
        await peer.backend.renew(patron, OVERDUE)
    assert peer.requests()[-1] == "29"


@pytest.mark.parametrize("renew_route", [False])
async def test_renew_all_when_the_acs_has_no_single_renew(peer: Peer) -> None:
    patron = await _login(peer)
    assert peer.backend.capabilities.supports(Capability.RENEW) is False
    batch = await peer.backend.renew_many(patron, [ON_LOAN, OVERDUE])
    outcome = {r.item_id: r.ok for r in batch.results}
    assert outcome == {ON_LOAN: True, OVERDUE: False}
    assert peer.requests()[-2:] == ["63", "65"]


async def test_checkout(peer: Peer) -> None:
    patron = await _login(peer)
    loan = await peer.backend.checkout(patron, FREE)
    assert loan.due_date == date(2026, 2, 15)
    assert peer.library.copies[FREE].borrower == CARD
    assert peer.requests()[-1] == "11"


async def test_checkin(peer: Peer) -> None:
    item = await peer.backend.checkin(QUEUED)
    assert item.location == "CEN"
    assert peer.library.copies[QUEUED].borrower is None
    assert peer.requests()[-1] == "09"


@pytest.mark.parametrize("extra_config", [{"terminal_password": "term-pw"}])
async def test_checkin_with_a_terminal_password(peer: Peer) -> None:
    await peer.backend.checkin(QUEUED)
    assert peer.library.copies[QUEUED].borrower is None
    assert peer.requests()[-1] == "09"


def _garble(code: bytes) -> Callable[[bytes], bytes | None]:
    """Change one digit of the transaction date of the first frame starting with ``code``:
    the frame still parses, its checksum no longer matches."""

    def garble(chunk: bytes) -> bytes | None:
        if not chunk.startswith(code):
            return None
        at = 10
        return chunk[:at] + (b"1" if chunk[at : at + 1] != b"1" else b"2") + chunk[at + 1 :]

    return garble


def _refused_by_checksum(frame: bytes) -> bool:
    try:
        decode_message(frame, encoding="utf-8")
    except SIP2ChecksumError:
        return True
    return False


async def test_a_garbled_response_is_asked_for_again_with_97(peer: Peer) -> None:
    peer.tap.mangle[False] = _garble(b"64")
    patron = await _login(peer)
    assert patron.name == "山田 花子"
    assert peer.requests() == ["93", "99", "63", "97"]
    answers = peer.tap.frames(to_server=False)
    assert _refused_by_checksum(answers[2])  # what our client got, and refused
    assert answers[3] != answers[2] and answers[3].startswith(b"64")  # pysip2's replay


async def test_a_request_garbled_on_the_way_is_sent_again_after_96(peer: Peer) -> None:
    peer.tap.mangle[True] = _garble(b"63")
    patron = await _login(peer)
    assert patron.name == "山田 花子"
    sent = peer.tap.frames(to_server=True)
    assert _refused_by_checksum(sent[2])  # pysip2 answered it with 96
    assert codes(strict_responses(peer.tap)) == ["94", "98", "96", "64"]
    assert codes(decode_requests(sent[:2] + sent[3:])) == ["93", "99", "63"]
    assert peer.acs.requests.count("63") == 1


async def test_unknown_card_and_unknown_item(peer: Peer) -> None:
    from ils_gateway.domain.errors import AuthenticationFailed, NotFound

    with pytest.raises(AuthenticationFailed):
        await peer.backend.authenticate("2999999999", "x")
    with pytest.raises(NotFound):
        await peer.backend.get_item("B999")
    assert peer.requests() == ["93", "99", "63", "17"]


async def test_hold_pickup_change(peer: Peer) -> None:
    patron = await _login(peer)
    moved = await peer.backend.change_hold(patron, QUEUED, pickup_library="CEN")
    assert moved.id == QUEUED and moved.pickup_library == "CEN"
    assert [h.pickup for h in peer.library.copies[QUEUED].holds] == ["CEN"]
    assert peer.requests()[-1] == "15"
