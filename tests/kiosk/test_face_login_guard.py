"""Password guessing on the kiosk face: a terminal login (93) and a patron's password (AD in
23/63/11/…) lock after the tenant's number of failures; while locked nothing reaches the
library system."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from kiosk_support import CARD, PASSWORD, SC_PASSWORD, SC_USER, Clock, Setup, running, self_check
from test_face_sip2 import checkout, info_request

from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.sip2.checksum import checksum_of_bytes
from ils_gateway.sip2.client import SIP2LoginFailed

LOCKED = "ログインの失敗が続いたため、しばらくご利用いただけません"
BAD_LOGIN = "カード番号またはパスワードが正しくありません"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def setup(clock: Clock) -> AsyncIterator[Setup]:
    async with running("sip2", clock) as s:
        yield s


async def test_ten_wrong_terminal_logins_lock_the_terminal(setup: Setup, clock: Clock) -> None:
    for _ in range(10):
        with pytest.raises(SIP2LoginFailed):
            async with self_check(setup.port, password="wrong"):
                pass
    with pytest.raises(SIP2LoginFailed):
        async with self_check(setup.port):
            pass
    clock.advance(timedelta(minutes=15))
    async with self_check(setup.port) as machine:
        answer = await machine.request(info_request(), idempotent=True)
        assert answer.get("BL") == "Y"


async def test_ten_wrong_patron_passwords_lock_the_card(
    setup: Setup, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    real = setup.sim.authenticate

    def counting(card_number: str, password: str):  # type: ignore[no-untyped-def]
        checks.append(card_number)
        return real(card_number, password)

    monkeypatch.setattr(setup.sim, "authenticate", counting)
    for i in range(10):
        answer = await setup.machine.request(
            info_request(card="0000-000001", password=f"x{i}"), idempotent=True
        )
        assert answer.screen_messages == [BAD_LOGIN]
        clock.advance(timedelta(seconds=30))  # past each growing delay
    asked = len(checks)
    assert asked >= 10
    locked = await setup.machine.request(info_request(password=PASSWORD), idempotent=True)
    assert locked.get("BL") == "N" and locked.screen_messages == [LOCKED]
    refused = await checkout(setup.machine, "2000105", card=CARD, password=PASSWORD)
    assert not refused.ok and refused.screen_messages == [LOCKED]
    assert len(checks) == asked, "a locked card's password reached the library"
    clock.advance(timedelta(minutes=15))
    answer = await setup.machine.request(info_request(), idempotent=True)
    assert answer.get("BL") == "Y" and answer.get("CQ") == "Y"


async def test_wrong_terminal_logins_delay_the_next_one(setup: Setup, clock: Clock) -> None:
    """After 3 free failures each further one holds the terminal back (1, 2, 4… s): even the
    right password is refused until the delay has passed."""
    for _ in range(4):
        with pytest.raises(SIP2LoginFailed):
            async with self_check(setup.port, password="wrong"):
                pass
    with pytest.raises(SIP2LoginFailed):
        async with self_check(setup.port):
            pass
    clock.advance(timedelta(seconds=1))
    async with self_check(setup.port) as machine:
        answer = await machine.request(info_request(), idempotent=True)
        assert answer.get("BL") == "Y"


async def test_wrong_patron_passwords_delay_the_next_check(
    setup: Setup, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    real = setup.sim.authenticate

    def counting(card_number: str, password: str):  # type: ignore[no-untyped-def]
        checks.append(card_number)
        return real(card_number, password)

    monkeypatch.setattr(setup.sim, "authenticate", counting)
    for i in range(4):
        answer = await setup.machine.request(
            info_request(card="0000-000001", password=f"x{i}"), idempotent=True
        )
        assert answer.screen_messages == [BAD_LOGIN]
    asked = len(checks)
    held = await setup.machine.request(info_request(password=PASSWORD), idempotent=True)
    assert held.get("BL") == "N" and held.screen_messages == [LOCKED]
    refused = await checkout(setup.machine, "2000105", card=CARD, password=PASSWORD)
    assert not refused.ok and refused.screen_messages == [LOCKED]
    assert len(checks) == asked, "a held-back card's password reached the library"
    clock.advance(timedelta(seconds=1))
    answer = await setup.machine.request(info_request(), idempotent=True)
    assert answer.get("BL") == "Y" and answer.get("CQ") == "Y"


async def test_unknown_card_and_wrong_password_answer_alike_on_the_kiosk(
    setup: Setup, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same fields, the same delays, and the same requests to the library (one 63 for
    each check) for a patron's card and a card the library does not know."""
    asked: list[str] = []
    real = Sip2Backend._patron_info

    async def counting(self, card_number, *args, **kwargs):  # type: ignore[no-untyped-def]
        asked.append(card_number)
        return await real(self, card_number, *args, **kwargs)

    monkeypatch.setattr(Sip2Backend, "_patron_info", counting)
    seen = []
    for card in (CARD, "0000999999"):
        before = len(asked)
        answers = []
        for i in range(5):
            answer = await setup.machine.request(
                info_request(card=card, password=f"x{i}"), idempotent=True
            )
            answers.append([f for f in answer.fields if f[0] not in ("AA", "AY", "AZ")])
        seen.append((answers, len(asked) - before))
    assert seen[0] == seen[1]
    assert seen[0][1] == 4, "the 5th check waits out a delay, without asking the library"


async def _terminal_login(port: int, user: str, password: str) -> bool:
    """One 93 on a connection of its own, as a guesser that reconnects for every try."""
    body = f"9300CN{user}|CO{password}|CPGUESS|AY0AZ".encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(body + checksum_of_bytes(body).encode() + b"\r")
        await writer.drain()
        answer = await reader.readuntil(b"\r")
    finally:
        writer.close()
        await writer.wait_closed()
    return answer.startswith(b"941")


async def test_wrong_terminal_logins_lock_the_address_across_connections(setup: Setup) -> None:
    """The per-address count keys on the address, not address and port: 100 wrong logins
    (the tenant's default), each with another user on a new connection, lock the address, so
    even the right login from it is refused (found by benchmarks/attack.py)."""
    for n in range(100):
        assert not await _terminal_login(setup.port, f"guess{n:03d}", "wrong")
    assert not await _terminal_login(setup.port, SC_USER, SC_PASSWORD)


async def test_patron_passwords_on_a_kiosk_are_counted_per_card_not_per_address(
    setup: Setup,
) -> None:
    """A self-check machine serves every patron of its branch from one address: the patron
    password checks it relays count per card only. 25 patrons mistyping once each (past the
    per-address delay threshold, 20) hold back nobody, and the next patron's right password
    is checked at once (the clock does not move). The machine itself is counted per terminal
    user and address at its 93."""
    for n in range(25):
        answer = await setup.machine.request(
            info_request(card=f"00009999{n:02d}", password="mistyped"), idempotent=True
        )
        assert answer.screen_messages == [BAD_LOGIN], n
    answer = await setup.machine.request(info_request(), idempotent=True)
    assert answer.get("BL") == "Y" and answer.get("CQ") == "Y"
