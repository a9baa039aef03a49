"""What real ACSs send and demand, met by the adapter (issue 12, SIP2 part).

- an answer about another patron or item is a 502 protocol error, never served;
- BP/BQ pages padded with empty ``AS|``/``AU|``/``CD|`` while the counts say 0: empty entries
  are not entries, the counts win where they disagree, and no request goes out with an empty
  id;
- 11 and 09 always carry AC (empty when the tenant has no terminal password);
- the "no block due date" of 11 and 29 is the transaction date by default (strict servers
  refuse 18 spaces), blank when the tenant says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sip2_acs_recording import RecordingACS, backend_config

from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.contract.embedded import lendable_item
from ils_gateway.domain.errors import (
    BackendProtocolError,
    BadRequest,
    FeatureDisabled,
    OutcomeUnknown,
    RenewalRefused,
)
from ils_gateway.domain.models import Patron
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sip2_acs import Sip2Quirks
from ils_gateway.sip2.messages import Message, PatronInformationResponse
from ils_gateway.sip2.server import SIP2Server, SIP2Session

HANAKO = ("1000000001", "hanako01")
KEN = "1000000002"

Handle = Callable[[Message, SIP2Session], Awaitable[Message]]


def with_fields(message: Message, fields: tuple[tuple[str, str], ...], **fixed: object) -> Message:
    return dataclasses.replace(message, fields=fields, sequence=None, checksum=None, **fixed)


class Seen:
    """Requests as the ACS received them, after login."""

    def __init__(self, recording: RecordingACS) -> None:
        self.requests: list[Message] = []
        self.rewrite: Callable[[Message], Message] | None = None
        self.answer: Callable[[Message, Message], Message] | None = None
        recording.intercept = self.intercept

    async def intercept(self, message: Message, session: SIP2Session, handle: Handle) -> Message:
        if message.code not in ("93", "99"):
            self.requests.append(message)
            if self.rewrite is not None:
                message = self.rewrite(message)
        answer = await handle(message, session)
        if self.answer is not None and message.code not in ("93", "99"):
            answer = self.answer(message, answer)
        return answer

    def of(self, code: str) -> list[Message]:
        return [m for m in self.requests if m.code == code]


@pytest.fixture
def seen(acs: tuple[RecordingACS, SIP2Server]) -> Seen:
    return Seen(acs[0])


@pytest.fixture
async def patron(backend: Sip2Backend) -> Patron:
    return await backend.authenticate(*HANAKO)


# --- identity -------------------------------------------------------------------------------


async def test_patron_data_of_another_patron_is_a_502_not_served(
    backend: Sip2Backend, patron: Patron, seen: Seen
) -> None:
    def other_patron(m: Message) -> Message:
        if m.code != "63":
            return m
        return with_fields(m, tuple((f, KEN if f == "AA" else v) for f, v in m.fields))

    seen.rewrite = other_patron
    with pytest.raises(BackendProtocolError) as caught:
        await backend.list_loans(patron)
    assert caught.value.status == 502
    seen.rewrite = None
    loans = await backend.list_loans(patron)  # a fresh connection answers about Hanako
    assert loans


# --- padded pages ---------------------------------------------------------------------------


def padded(request: Message, answer: Message) -> Message:
    """As real ACSs do: one empty entry per slot asked for in every list field, counts 0 for
    the lists with no entries."""
    if request.code != "64" and not isinstance(answer, PatronInformationResponse):
        return answer
    assert isinstance(answer, PatronInformationResponse)
    padding = tuple((fid, "") for fid in ("AS", "AT", "AU", "CD") for _ in range(50))
    counts = {
        name: 0
        for fid, name in (
            ("AS", "hold_items_count"),
            ("AU", "charged_items_count"),
            ("CD", "unavailable_holds_count"),
        )
        if not answer.get_all(fid)
    }
    return with_fields(answer, answer.fields + padding, **counts)


async def test_padded_pages_list_no_phantom_holds_and_send_no_empty_ids(
    backend: Sip2Backend, patron: Patron, seen: Seen, library: SimulatedLibrary
) -> None:
    expected = len(library.holds(HANAKO[0]))
    seen.answer = padded
    holds = await backend.list_holds(patron)
    assert len(holds) == expected
    assert all(h.id and h.id != "title:" for h in holds)
    assert all(m.get("AB") for m in seen.of("17"))


async def test_padded_pages_list_only_the_real_loans(
    backend: Sip2Backend, patron: Patron, seen: Seen, library: SimulatedLibrary
) -> None:
    seen.answer = padded
    loans = await backend.list_loans(patron)
    assert sorted(loan.item.id for loan in loans) == sorted(
        v.barcode for v in library.loans(HANAKO[0])
    )
    assert all(m.get("AB") for m in seen.of("17"))
    assert len(seen.of("63")) == 1  # an all-padding tail is not a reason to ask again


async def test_the_count_wins_over_more_entries_than_it_says(
    backend: Sip2Backend, patron: Patron, seen: Seen, library: SimulatedLibrary
) -> None:
    real = [v.barcode for v in library.loans(HANAKO[0])]

    def one_counted(request: Message, answer: Message) -> Message:
        if isinstance(answer, PatronInformationResponse) and answer.get_all("AU"):
            return with_fields(answer, answer.fields, charged_items_count=1)
        return answer

    seen.answer = one_counted
    loans = await backend.list_loans(patron)
    assert [loan.item.id for loan in loans] == real[:1]


async def test_no_request_goes_out_with_an_empty_id(
    backend: Sip2Backend, patron: Patron, seen: Seen
) -> None:
    for call in (
        backend.get_item(""),
        backend.get_item("  "),
        backend.renew(patron, ""),
        backend.cancel_hold(patron, "title:"),
        backend.cancel_hold(patron, ""),
        backend.place_hold(patron, "", "CEN"),
        backend.checkout(patron, ""),
        backend.checkin(""),
        backend.authenticate("", "pw"),
        backend.list_loans(patron.model_copy(update={"card_number": " "})),
    ):
        with pytest.raises(BadRequest):
            await call
    assert seen.requests == []


async def test_no_write_goes_out_for_a_blank_card(
    backend: Sip2Backend, patron: Patron, seen: Seen, library: SimulatedLibrary
) -> None:
    """A patron record with a blank card number (from any caller) sends no 29, 11 or 15 with
    an empty AA: the ACS would read it as no patron, or as any patron."""
    blank = patron.model_copy(update={"card_number": " "})
    barcode = lendable_item(library, HANAKO[0])
    assert barcode is not None
    for call in (
        backend.renew(blank, barcode),
        backend.checkout(blank, barcode),
        backend.place_hold(blank, barcode, "CEN"),
        backend.cancel_hold(blank, barcode),
        backend.change_hold(blank, barcode, pickup_library="CEN"),
    ):
        with pytest.raises(BadRequest):
            await call
    batch = await backend.renew_many(blank, [barcode])
    assert [r.error_type for r in batch.results] == [BadRequest.type_slug]
    assert seen.requests == []


# --- AC in 11 and 09 ------------------------------------------------------------------------


async def test_checkout_and_checkin_carry_an_empty_ac_without_terminal_password(
    backend: Sip2Backend, patron: Patron, seen: Seen, library: SimulatedLibrary
) -> None:
    barcode = lendable_item(library, HANAKO[0])
    assert barcode is not None
    await backend.checkout(patron, barcode)
    await backend.checkin(barcode)
    for code in ("11", "09"):
        (request,) = seen.of(code)
        assert ("AC", "") in request.fields, code


# --- no block due date ----------------------------------------------------------------------


async def test_no_block_due_date_is_the_transaction_date_by_default(
    backend: Sip2Backend, patron: Patron, seen: Seen, library: SimulatedLibrary
) -> None:
    barcode = lendable_item(library, HANAKO[0])
    assert barcode is not None
    await backend.checkout(patron, barcode)
    await backend.renew(patron, barcode)
    for code in ("11", "29"):
        (request,) = seen.of(code)
        assert not request.nb_due_date.is_none, code  # type: ignore[attr-defined]
        assert request.nb_due_date == request.transaction_date, code  # type: ignore[attr-defined]


@pytest.fixture
async def blank_nb_backend(
    acs: tuple[RecordingACS, SIP2Server], library: SimulatedLibrary
) -> AsyncIterator[Sip2Backend]:
    adapter = Sip2Backend(
        backend_config(acs[1].port, no_block_due_date="blank"), today=library.today
    )
    await adapter.start()
    yield adapter
    await adapter.close()


async def test_no_block_due_date_blank_when_the_tenant_says_so(
    blank_nb_backend: Sip2Backend, seen: Seen, library: SimulatedLibrary, quirks: Sip2Quirks
) -> None:
    patron = await blank_nb_backend.authenticate(*HANAKO)
    barcode = lendable_item(library, HANAKO[0])
    assert barcode is not None
    if quirks.strict_required_fields:
        # What the default avoids: a strict ACS drops the connection on the blank date, and
        # the checkout's outcome is unknown to the gateway.
        with pytest.raises(OutcomeUnknown):
            await blank_nb_backend.checkout(patron, barcode)
    else:
        await blank_nb_backend.checkout(patron, barcode)
    (request,) = seen.of("11")
    assert request.nb_due_date.raw == " " * 18  # type: ignore[attr-defined]


# --- renewals off while the flags say yes ----------------------------------------------------


async def test_renewals_off_while_98_says_yes_is_a_refusal(
    library: SimulatedLibrary, acs: tuple[RecordingACS, SIP2Server]
) -> None:
    recording, _server = acs
    recording.acs.quirks = dataclasses.replace(recording.acs.quirks, renewals_off=True)
    adapter = Sip2Backend(backend_config(acs[1].port), today=library.today)
    try:
        patron = await adapter.authenticate(*HANAKO)
        barcode = next(v.barcode for v in library.loans(HANAKO[0]) if v.renewable)
        with pytest.raises(RenewalRefused) as caught:
            await adapter.renew(patron, barcode)
    finally:
        await adapter.close()
    assert caught.value.status == 422
    assert caught.value.backend_message == "現在、貸出延長は受け付けていません"


async def test_a_sighting_without_a_sighting_login_is_refused(backend: Sip2Backend) -> None:
    """``sight_item`` needs the tenant's sighting_login (the ACS account that records a 17 as
    a sighting); the gateway's own login is never used for one."""
    assert backend._config.sighting_login is None
    with pytest.raises(FeatureDisabled):
        await backend.sight_item("2000105")
