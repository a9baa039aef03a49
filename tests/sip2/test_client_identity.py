"""Every response must answer its request: patron (AA), item (AB) and sequence (AY).

A server (or a confused connection) that answers a 63 for patron A with patron B's 64 — right
AY, valid checksum — must not be served to patron A. The ACS here is the simulator behind a
handler that rewrites the request it passes on (so the simulator answers about someone else)
or the response it sends back; the server face then writes the right AY and a valid AZ.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable

import pytest
import structlog

from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import SimulatedACS
from ils_gateway.sip2.client import (
    IDENTITY_FIELDS,
    SIP2ClientPool,
    SIP2ClientSettings,
    SIP2IdentityMismatch,
    SIP2ProtocolError,
    identity_mismatch,
)
from ils_gateway.sip2.codec import CodecSettings, encode
from ils_gateway.sip2.connection import NEED_DATA, Role, SIP2Connection
from ils_gateway.sip2.fields import HoldMode, SipDate, Summary
from ils_gateway.sip2.messages import (
    CheckinRequest,
    CheckoutRequest,
    EndPatronSessionRequest,
    HoldRequest,
    ItemInformationRequest,
    Message,
    PatronInformationRequest,
    PatronStatusRequest,
    RenewAllRequest,
    RenewRequest,
)
from ils_gateway.sip2.server import SIP2Server, SIP2Session

HANAKO, HANAKO_PW = "1000000001", "hanako01"
KEN = "1000000002"
NOW = SipDate("20250602    100000")

Rewrite = Callable[[Message], Message]


class SwappingACS:
    """The simulator, with ``before`` applied to requests and ``after`` to its answers."""

    def __init__(self, library: SimulatedLibrary) -> None:
        self.acs = SimulatedACS(library)
        self.before: Rewrite | None = None
        self.after: Rewrite | None = None
        self.connections: set[int] = set()
        self.seen: list[str] = []

    async def handle(self, message: Message, session: SIP2Session) -> Message:
        self.connections.add(session.connection_id)
        self.seen.append(message.code)
        if self.before is not None and message.code not in ("93", "99"):
            message = self.before(message)
        answer = await self.acs.handle(message, session)
        if self.after is not None and message.code not in ("93", "99"):
            answer = self.after(answer)
        return answer


def replace_field(message: Message, fid: str, value: str | None) -> Message:
    """``message`` with field ``fid`` set to ``value`` (None: left out)."""
    fields = tuple(f for f in message.fields if f[0] != fid or value is not None)
    fields = tuple((f[0], value) if f[0] == fid and value is not None else f for f in fields)
    return dataclasses.replace(message, fields=fields, sequence=None, checksum=None)


@pytest.fixture
def library() -> SimulatedLibrary:
    return sample_library()


@pytest.fixture
async def swapping(library: SimulatedLibrary) -> AsyncIterator[tuple[SwappingACS, SIP2ClientPool]]:
    acs = SwappingACS(library)
    server = SIP2Server(acs.handle)
    await server.start()
    pool = SIP2ClientPool(SIP2ClientSettings(host="127.0.0.1", port=server.port, pool_size=1))
    await pool.start()
    yield acs, pool
    await pool.aclose()
    await server.aclose()


def patron_info(card: str) -> PatronInformationRequest:
    return PatronInformationRequest.build(
        transaction_date=NOW,
        summary=Summary(),
        institution_id="MIDORI",
        patron_identifier=card,
    )


def item_info(barcode: str) -> ItemInformationRequest:
    return ItemInformationRequest.build(
        transaction_date=NOW, institution_id="MIDORI", item_identifier=barcode
    )


def on_loan(library: SimulatedLibrary, card: str) -> list[str]:
    return [loan.barcode for loan in library.loans(card)]


async def test_63_answered_with_another_patrons_64_is_a_protocol_error(
    swapping: tuple[SwappingACS, SIP2ClientPool],
) -> None:
    acs, pool = swapping
    acs.before = lambda m: replace_field(m, "AA", KEN)
    with structlog.testing.capture_logs() as logs:
        with pytest.raises(SIP2IdentityMismatch) as caught:
            await pool.request(patron_info(HANAKO), idempotent=True)
    assert isinstance(caught.value, SIP2ProtocolError)
    assert caught.value.field == "AA"
    assert HANAKO not in str(caught.value) and KEN not in str(caught.value)
    mismatches = [e for e in logs if e["event"] == "sip2.client.identity_mismatch"]
    assert len(mismatches) == 1  # logged once, not retried on a fresh connection
    logged = mismatches[0]
    assert logged["field"] == "AA" and logged["code"] == "64"
    assert logged["asked"] == "******0001" and logged["answered"] == "******0002"
    assert HANAKO not in repr(logs) and KEN not in repr(logs)
    assert acs.seen.count("63") == 1


async def test_the_connection_of_a_mismatch_is_closed_and_replaced(
    swapping: tuple[SwappingACS, SIP2ClientPool],
) -> None:
    acs, pool = swapping
    acs.before = lambda m: replace_field(m, "AA", KEN)
    with pytest.raises(SIP2IdentityMismatch):
        await pool.request(patron_info(HANAKO), idempotent=True)
    assert pool.open_connections == 0
    acs.before = None
    answer = await pool.request(patron_info(HANAKO), idempotent=True)
    assert answer.get("AA") == HANAKO
    assert len(acs.connections) == 2  # the next request went on a new connection


async def test_17_answered_with_another_items_18_is_a_protocol_error(
    swapping: tuple[SwappingACS, SIP2ClientPool], library: SimulatedLibrary
) -> None:
    acs, pool = swapping
    mine, other = on_loan(library, HANAKO)[:2]
    acs.before = lambda m: replace_field(m, "AB", other)
    with structlog.testing.capture_logs() as logs:
        with pytest.raises(SIP2IdentityMismatch) as caught:
            await pool.request(item_info(mine), idempotent=True)
    assert caught.value.field == "AB"
    # Issue 15: the request's log context names the patron; items are shown by length only.
    logged = next(e for e in logs if e["event"] == "sip2.client.identity_mismatch")
    assert logged["asked"] == f"<{len(mine)} chars>"
    assert mine[-4:] not in repr(logs) and other[-4:] not in repr(logs)


async def test_a_renewal_answered_for_another_item_is_a_protocol_error_and_not_resent(
    swapping: tuple[SwappingACS, SIP2ClientPool], library: SimulatedLibrary
) -> None:
    acs, pool = swapping
    mine, other = on_loan(library, HANAKO)[:2]
    acs.after = lambda m: replace_field(m, "AB", other)
    request = RenewRequest.build(
        transaction_date=NOW,
        institution_id="MIDORI",
        patron_identifier=HANAKO,
        item_identifier=mine,
    )
    with pytest.raises(SIP2IdentityMismatch):
        await pool.request(request, idempotent=False)
    assert acs.seen.count("29") == 1


@pytest.mark.parametrize("value", [None, ""], ids=["left-out", "empty"])
async def test_identity_fields_a_server_leaves_out_are_not_a_mismatch(
    swapping: tuple[SwappingACS, SIP2ClientPool], value: str | None
) -> None:
    acs, pool = swapping
    acs.after = lambda m: replace_field(m, "AA", value)
    answer = await pool.request(patron_info(HANAKO), idempotent=True)
    assert answer.code == "64"


async def test_case_and_padding_of_an_echoed_id_are_not_a_mismatch(
    swapping: tuple[SwappingACS, SIP2ClientPool], library: SimulatedLibrary
) -> None:
    # Koha's database collation compares barcodes without case; ACSs echo the stored form.
    acs, pool = swapping
    barcode = on_loan(library, HANAKO)[0]
    acs.after = lambda m: replace_field(m, "AB", f" {barcode.lower()} ")
    answer = await pool.request(item_info(barcode), idempotent=True)
    assert answer.code == "18"


def test_identity_table_covers_the_answers_naming_a_patron_or_item() -> None:
    for code in ("64", "24", "12", "30", "16", "66", "36", "26", "38"):
        assert "AA" in IDENTITY_FIELDS[code], code
    for code in ("18", "12", "10", "30", "16", "20"):
        assert "AB" in IDENTITY_FIELDS[code], code


class WrongSequenceACS:
    """Answers every request after login with the simulator's answer under the wrong AY."""

    def __init__(self, library: SimulatedLibrary) -> None:
        self.acs = SimulatedACS(library)
        self.answered = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def aclose(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        settings = CodecSettings()
        conn = SIP2Connection(Role.SERVER, settings)
        session = SIP2Session(0, "test")
        try:
            while True:
                event = conn.next_event()
                if event is NEED_DATA:
                    data = await reader.read(65536)
                    if not data:
                        return
                    conn.receive_data(data)
                    continue
                assert isinstance(event, Message)
                answer = await self.acs.handle(event, session)
                out = conn.send(answer)
                if event.code == "17" and event.sequence is not None:
                    self.answered += 1
                    wrong = dataclasses.replace(answer, sequence=(event.sequence + 1) % 10)
                    out = encode(wrong, settings)
                writer.write(out)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


async def test_a_response_with_another_sequence_number_is_a_protocol_error(
    library: SimulatedLibrary,
) -> None:
    acs = WrongSequenceACS(library)
    port = await acs.start()
    pool = SIP2ClientPool(SIP2ClientSettings(host="127.0.0.1", port=port, pool_size=1))
    await pool.start()
    try:
        with pytest.raises(SIP2ProtocolError, match="sequence"):
            await pool.request(item_info(on_loan(library, HANAKO)[0]), idempotent=True)
        assert pool.open_connections == 0
    finally:
        await pool.aclose()
        await acs.aclose()
    assert acs.answered == 2  # a read is tried once more on a fresh connection, then fails


class _Answer:
    """Just what ``identity_mismatch`` reads of a response: its code and fields."""

    def __init__(self, code: str, **fields: str) -> None:
        self.code = code
        self._fields = fields

    def get(self, fid: str) -> str | None:
        return self._fields.get(fid)


# Every request → response pair the issue names, with the identity fields compared.
_PAIRS = [
    (PatronInformationRequest, "64", ("AA",)),
    (PatronStatusRequest, "24", ("AA",)),
    (CheckoutRequest, "12", ("AA", "AB")),
    (RenewRequest, "30", ("AA", "AB")),
    (HoldRequest, "16", ("AA", "AB")),
    (RenewAllRequest, "66", ("AA",)),
    (EndPatronSessionRequest, "36", ("AA",)),
    (CheckinRequest, "10", ("AB",)),
    (ItemInformationRequest, "18", ("AB",)),
]


@pytest.mark.parametrize(("request_cls", "code", "compared"), _PAIRS, ids=[p[1] for p in _PAIRS])
def test_each_named_answer_is_held_to_its_request(
    request_cls: type[Message], code: str, compared: tuple[str, ...]
) -> None:
    fixed = {n: NOW for n in request_cls._FIXED_NAMES if n.endswith("_date")}
    if request_cls is HoldRequest:
        fixed["hold_mode"] = HoldMode.ADD
    named = (("patron_identifier", HANAKO), ("item_identifier", "2100000001"))
    request = request_cls.build(
        **fixed, **{name: value for name, value in named if hasattr(request_cls, name)}
    )
    assert {fid for fid in compared if request.get(fid)} == set(compared)
    same = {fid: request.get(fid) or "" for fid in ("AA", "AB")}
    assert identity_mismatch(request, _Answer(code, **same)) is None  # type: ignore[arg-type]
    for fid in compared:
        other = {**same, fid: KEN if fid == "AA" else "2100000002"}
        assert identity_mismatch(request, _Answer(code, **other)) == fid  # type: ignore[arg-type]
        assert identity_mismatch(request, _Answer(code, **{**same, fid: ""})) is None  # type: ignore[arg-type]
