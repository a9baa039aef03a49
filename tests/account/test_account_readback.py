"""An account write whose answer was lost is read back before it is ever sent again
(``ResilientBackend.update_contact`` / ``set_password``; issue 18)."""

from __future__ import annotations

from typing import Any

import pytest

from ils_gateway.adapters.base import Capabilities, ContactChange
from ils_gateway.adapters.resilience.backend import ResilientBackend
from ils_gateway.domain.errors import AuthenticationFailed, OutcomeUnknown
from ils_gateway.domain.models import Patron

PATRON = Patron(id="p1", card_number="1000000001", name="山田 花子", email="old@example.jp")


class _Koha:
    """A backend whose writes land but whose answers are lost (``lose`` times)."""

    capabilities = Capabilities()
    account_writes = frozenset({"password", "contact"})

    def __init__(self, lose: int, land: bool = True) -> None:
        self.record = PATRON
        self.password = "old"
        self.writes = 0
        self.lose = lose
        self.land = land

    async def patron_summary(self, patron: Patron) -> Patron:
        return self.record

    async def authenticate(self, card: str, password: str) -> Patron:
        if password != self.password:
            raise AuthenticationFailed()
        return self.record

    async def update_contact(self, patron: Patron, change: ContactChange) -> Patron:
        self.writes += 1
        if self.land:
            self.record = self.record.model_copy(update={"email": change.email})
        if self.lose:
            self.lose -= 1
            raise OutcomeUnknown(operator_detail="connection reset after sending")
        return self.record

    async def set_password(self, patron: Patron, new_password: str) -> None:
        self.writes += 1
        if self.land:
            self.password = new_password
        if self.lose:
            self.lose -= 1
            raise OutcomeUnknown(operator_detail="connection reset after sending")

    async def close(self) -> None:
        pass


def _resilient(inner: Any) -> ResilientBackend:
    return ResilientBackend(inner, tenant_id="kanagawa")


async def test_a_lost_answer_is_read_back_and_not_sent_again() -> None:
    inner = _Koha(lose=1)
    updated = await _resilient(inner).update_contact(PATRON, ContactChange(email="new@example.jp"))
    assert updated.email == "new@example.jp"
    assert inner.writes == 1  # the read-back found it: no second PUT


async def test_a_write_that_did_not_land_is_sent_once_more() -> None:
    inner = _Koha(lose=1, land=False)
    await _resilient(inner).update_contact(PATRON, ContactChange(email="new@example.jp"))
    assert inner.writes == 2


async def test_a_password_whose_answer_was_lost_logs_in_so_it_is_done() -> None:
    inner = _Koha(lose=1)
    await _resilient(inner).set_password(PATRON, "Sakura#2025x")
    assert inner.writes == 1 and inner.password == "Sakura#2025x"


async def test_a_password_that_cannot_be_read_back_stays_unknown() -> None:
    inner = _Koha(lose=1, land=False)
    with pytest.raises(OutcomeUnknown):
        await _resilient(inner).set_password(PATRON, "Sakura#2025x")
    assert inner.writes == 1  # never sent blindly again
