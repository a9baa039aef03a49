"""The SIP2 simulator behaves like real ACSs: spec widths, error detection per message, and
each real-server quirk (sip2.md "What real ACSs do" / "More real-server behaviour") on its
switch, checked on the raw wire."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator

import pytest
from click.testing import CliRunner

from ils_gateway.adapters.sip2.backend import Sip2Backend
from ils_gateway.cli import main
from ils_gateway.contract.embedded import holdable_waiting_item, lendable_item
from ils_gateway.domain.errors import GatewayError
from ils_gateway.simulators import sip2_cli
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import QUIRK_NAMES, Sip2Quirks, start_sip2_simulator
from ils_gateway.sip2.client import SIP2ClientSettings
from ils_gateway.sip2.codec import CodecSettings, encode, parse
from ils_gateway.sip2.fields import FeeType, HoldMode, PaymentType, SipDate, Summary, SummaryItem
from ils_gateway.sip2.messages import (
    CheckinRequest,
    CheckoutRequest,
    FeePaidRequest,
    HoldRequest,
    ItemInformationRequest,
    LoginRequest,
    Message,
    PatronInformationRequest,
    PatronStatusRequest,
    RenewAllRequest,
    RenewRequest,
    SCStatus,
)
from ils_gateway.sip2.server import SIP2Server
from ils_gateway.tenants.backends import Sip2Backend as Sip2BackendConfig

HANAKO, HANAKO_PW = "1000000001", "hanako01"
NOBODY_HOLDS = "1000000007"  # tadashi: no holds
NOW = SipDate("20250602    100000")
LOGINS = {"selfcheck": "sc-pass"}
PLAIN = CodecSettings(error_detection=False)


class Wire:
    """One raw TCP connection to the simulator: frames out, raw frames back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.sequence = 0

    async def send(self, message: Message, *, checked: bool = True, end: bytes = b"\r") -> None:
        if checked:
            message = dataclasses.replace(message, sequence=self.sequence, checksum=None)
            self.sequence = (self.sequence + 1) % 10
            data = encode(message, CodecSettings(), terminator=False)
        else:
            data = encode(message, PLAIN, terminator=False)
        self.writer.write(data + end)
        await self.writer.drain()

    async def frame(self) -> bytes | None:
        """The next frame with its terminator; None when the ACS closed the connection."""
        try:
            frame = await asyncio.wait_for(self.reader.readuntil(b"\r"), 10)
        except asyncio.IncompleteReadError:
            return None
        return frame.lstrip(b"\n")  # the LF of the previous frame's CRLF

    async def ask(self, message: Message, **options: object) -> Message:
        await self.send(message, **options)  # type: ignore[arg-type]
        frame = await self.frame()
        assert frame is not None, f"{message.code}: connection closed"
        lenient = CodecSettings(require_checksum=False)
        return parse(frame.rstrip(b"\r\n"), lenient)

    async def login(self) -> None:
        answer = await self.ask(
            LoginRequest.build(login_user_id="selfcheck", login_password="sc-pass")
        )
        assert answer.ok  # type: ignore[attr-defined]

    def close(self) -> None:
        self.writer.close()


class Rig:
    def __init__(self, library: SimulatedLibrary, server: SIP2Server) -> None:
        self.library = library
        self.server = server

    async def wire(self, *, login: bool = True) -> Wire:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        wire = Wire(reader, writer)
        if login:
            await wire.login()
        return wire


async def _rig(quirks: Sip2Quirks, **options: object) -> tuple[Rig, SIP2Server]:
    library = sample_library()
    server, _acs = await start_sip2_simulator(
        library,
        logins=LOGINS,
        quirks=quirks,
        **options,  # type: ignore[arg-type]
    )
    return Rig(library, server), server


@pytest.fixture
async def plain() -> AsyncIterator[Rig]:
    rig, server = await _rig(Sip2Quirks())
    yield rig
    await server.aclose()


@pytest.fixture
async def quirky() -> AsyncIterator[Rig]:
    rig, server = await _rig(Sip2Quirks.all())
    yield rig
    await server.aclose()


def info(card: str, which: SummaryItem | None = None, first: int = 1, last: int = 50) -> Message:
    return PatronInformationRequest.build(
        language="014",
        transaction_date=NOW,
        summary=Summary.of(which),
        institution_id="MIDORI",
        patron_identifier=card,
        start_item=str(first) if which else None,
        end_item=str(last) if which else None,
    )


def on_loan(library: SimulatedLibrary, card: str = HANAKO) -> list[str]:
    return [loan.barcode for loan in library.loans(card)]


# --- spec widths ----------------------------------------------------------------------------

# Variable fields with a fixed width in the 2.00 spec: limits 4 digits, currency 3 characters,
# media type 3 digits, fee type 2 digits, Y/N flags, the 16 BX flags.
WIDTHS = {
    "BZ": r"\d{4}",
    "CA": r"\d{4}",
    "CB": r"\d{4}",
    "BH": r".{3}",
    "CK": r"\d{3}",
    "BT": r"\d{2}",
    "BL": r"[YN]",
    "CQ": r"[YN]",
    "BX": r"[YN]{16}",
    "CI": r"[YN]",
}


async def every_answer(wire: Wire, library: SimulatedLibrary) -> list[Message]:
    barcode = on_loan(library)[0]
    requests: list[Message] = [
        SCStatus.build(),
        PatronStatusRequest.build(
            transaction_date=NOW, institution_id="MIDORI", patron_identifier=HANAKO,
            patron_password=HANAKO_PW,
        ),
        *(info(HANAKO, which) for which in (None, *SummaryItem)),
        ItemInformationRequest.build(
            transaction_date=NOW, institution_id="MIDORI", item_identifier=barcode
        ),
        RenewRequest.build(
            transaction_date=NOW, nb_due_date=NOW, institution_id="MIDORI",
            patron_identifier=HANAKO, item_identifier=barcode, terminal_password="",
        ),
        RenewAllRequest.build(
            transaction_date=NOW, institution_id="MIDORI", patron_identifier=HANAKO
        ),
    ]  # fmt: skip
    return [await wire.ask(r) for r in requests]


@pytest.mark.parametrize("quirks", [Sip2Quirks(), Sip2Quirks.all()], ids=["plain", "quirks"])
async def test_fields_are_written_at_their_spec_width(quirks: Sip2Quirks) -> None:
    rig, server = await _rig(quirks)
    try:
        wire = await rig.wire()
        answers = await every_answer(wire, rig.library)
        wire.close()
    finally:
        await server.aclose()
    seen = set()
    for answer in answers:
        for fid, value in answer.fields:
            if fid in WIDTHS:
                seen.add(fid)
                assert re.fullmatch(WIDTHS[fid], value), f"{answer.code} {fid}={value!r}"
    assert {"BZ", "BH", "BL", "BX", "CK"} <= seen


# --- error detection per message ------------------------------------------------------------


async def test_error_detection_is_decided_per_message(plain: Rig) -> None:
    wire = await plain.wire(login=False)
    await wire.send(SCStatus.build(), checked=False)
    first = await wire.frame()
    await wire.send(SCStatus.build(), checked=True)
    second = await wire.frame()
    await wire.send(SCStatus.build(), checked=False)
    third = await wire.frame()
    wire.close()
    assert first is not None and second is not None and third is not None
    assert b"AZ" not in first and b"AY" not in first
    assert b"AY0AZ" in second
    assert parse(second.rstrip(b"\r")).code == "98"  # its checksum is right
    assert b"AZ" not in third  # even after a checksummed one


async def test_error_detection_can_be_required() -> None:
    rig, server = await _rig(Sip2Quirks(), require_error_detection=True)
    try:
        wire = await rig.wire(login=False)
        await wire.send(SCStatus.build(), checked=False)
        refused = await wire.frame()
        await wire.send(SCStatus.build(), checked=True)
        answered = await wire.frame()
        wire.close()
    finally:
        await server.aclose()
    assert refused is not None and refused.startswith(b"96")
    assert answered is not None and answered.startswith(b"98")


# --- each quirk -----------------------------------------------------------------------------


async def test_pad_lists_sends_empty_entries_while_the_count_says_0(quirky: Rig) -> None:
    wire = await quirky.wire()
    answer = await wire.ask(info(NOBODY_HOLDS, SummaryItem.HOLD_ITEMS, 1, 50))
    assert answer.hold_items_count == 0  # type: ignore[attr-defined]
    assert answer.get_all("AS") == [""] * 50
    loans = on_loan(quirky.library)
    answer = await wire.ask(info(HANAKO, SummaryItem.CHARGED_ITEMS, 1, 50))
    assert answer.get_all("AU") == loans + [""] * (50 - len(loans))
    wire.close()


async def test_plain_lists_have_no_padding(plain: Rig) -> None:
    wire = await plain.wire()
    answer = await wire.ask(info(NOBODY_HOLDS, SummaryItem.HOLD_ITEMS, 1, 50))
    assert answer.get_all("AS") == []
    wire.close()


async def test_real_field_order_puts_ao_last_and_an_empty_aq_in_10(quirky: Rig) -> None:
    wire = await quirky.wire()
    barcode = on_loan(quirky.library)[0]
    renew = await wire.ask(
        RenewRequest.build(
            transaction_date=NOW, nb_due_date=NOW, institution_id="MIDORI",
            patron_identifier=HANAKO, item_identifier=barcode, terminal_password="",
        )
    )  # fmt: skip
    ids = [f for f, _ in renew.fields if f not in ("AF", "AG")]
    assert ids[-1] == "AO", renew.fields
    patron = await wire.ask(info(HANAKO))
    assert patron.fields[-1][0] == "AO"
    checkin = await wire.ask(
        CheckinRequest.build(
            transaction_date=NOW, return_date=NOW, current_location="CEN",
            institution_id="MIDORI", item_identifier=barcode, terminal_password="",
        )
    )  # fmt: skip
    assert checkin.ok and ("AQ", "") in checkin.fields  # type: ignore[attr-defined]
    wire.close()


async def test_crlf_out_and_crlf_in() -> None:
    rig, server = await _rig(Sip2Quirks(crlf_output=True))
    try:
        wire = await rig.wire()
        await wire.send(SCStatus.build(), end=b"\r\n")
        frame = await wire.frame()
        assert frame is not None and frame.startswith(b"98")
        assert await wire.reader.readexactly(1) == b"\n"
        wire.close()
    finally:
        await server.aclose()


@pytest.mark.parametrize("end", [b"\r\n", b"\n"], ids=["crlf", "lf"])
async def test_cr_only_input_drops_a_frame_ended_by_lf_or_crlf(quirky: Rig, end: bytes) -> None:
    wire = await quirky.wire()  # the 93 went with CR: answered
    assert (await wire.ask(SCStatus.build())).code == "98"
    await wire.send(SCStatus.build(), end=end)
    assert await wire.frame() is None  # closed, no answer
    wire.close()


async def test_cr_only_input_drops_an_lf_arriving_after_the_cr() -> None:
    """The LF of a CRLF sent in a separate write: the frame before it is answered (the server
    could not know), the LF then ends the connection."""
    rig, server = await _rig(Sip2Quirks(cr_only_input=True))
    try:
        wire = await rig.wire()
        await wire.send(SCStatus.build())
        assert (await wire.frame() or b"").startswith(b"98")
        wire.writer.write(b"\n")
        await wire.writer.drain()
        assert await wire.frame() is None
        wire.close()
    finally:
        await server.aclose()


async def test_the_gateway_client_writes_cr_only_and_a_strict_server_serves_it() -> None:
    library = sample_library()
    server, _acs = await start_sip2_simulator(
        library, logins={"gateway": "gw-pass"}, quirks=Sip2Quirks(cr_only_input=True)
    )
    try:
        base = {
            "kind": "sip2",
            "host": "127.0.0.1",
            "port": server.port,
            "login_user": "gateway",
            "login_password": "gw-pass",
            "institution_id": "MIDORI",
        }
        config = Sip2BackendConfig.model_validate(base)
        assert config.terminator_text == "\r" and SIP2ClientSettings("h", 1).terminator == "\r"
        backend = Sip2Backend(config, today=library.today)
        try:
            patron = await backend.authenticate(HANAKO, HANAKO_PW)
            assert await backend.list_loans(patron)
        finally:
            await backend.close()
        # The same server refuses a client configured for CRLF: the quirk bites.
        crlf = Sip2BackendConfig.model_validate({**base, "terminator": "crlf"})
        refused = Sip2Backend(crlf, today=library.today)
        try:
            with pytest.raises(GatewayError):
                await refused.authenticate(HANAKO, HANAKO_PW)
        finally:
            await refused.close()
    finally:
        await server.aclose()


async def test_misleading_status_flags_while_checkout_and_checkin_work(quirky: Rig) -> None:
    wire = await quirky.wire()
    status = await wire.ask(SCStatus.build())
    assert status.checkin_ok is False and status.checkout_ok is False  # type: ignore[attr-defined]
    assert status.acs_renewal_policy is True  # type: ignore[attr-defined]
    barcode = lendable_item(quirky.library, HANAKO)
    assert barcode is not None
    out = await wire.ask(
        CheckoutRequest.build(
            transaction_date=NOW, nb_due_date=NOW, institution_id="MIDORI",
            patron_identifier=HANAKO, item_identifier=barcode, terminal_password="",
        )
    )  # fmt: skip
    assert out.ok  # type: ignore[attr-defined]
    wire.close()


async def test_drop_on_37_closes_the_connection(quirky: Rig) -> None:
    wire = await quirky.wire()
    await wire.send(
        FeePaidRequest.build(
            transaction_date=NOW, fee_type=FeeType.OVERDUE, payment_type=PaymentType.CASH,
            fee_amount="100", institution_id="MIDORI", patron_identifier=HANAKO,
        )
    )  # fmt: skip
    assert await wire.frame() is None


async def test_99_before_93_closes_the_connection(quirky: Rig) -> None:
    wire = await quirky.wire(login=False)
    await wire.send(SCStatus.build())
    assert await wire.frame() is None
    after_login = await quirky.wire()
    assert (await after_login.ask(SCStatus.build())).code == "98"
    after_login.close()


async def test_legacy_title_bytes_on_the_wire(quirky: Rig) -> None:
    library = quirky.library
    barcode = next(item.barcode for item in library.data.items if item.barcode.endswith("3"))
    wire = await quirky.wire()
    request = ItemInformationRequest.build(
        transaction_date=NOW, institution_id="MIDORI", item_identifier=barcode
    )
    await wire.send(request)
    frame = await wire.frame()
    wire.close()
    assert frame is not None
    with pytest.raises(UnicodeDecodeError):
        frame.decode("utf-8")
    assert b"\xe9|" in frame
    answer = parse(frame.rstrip(b"\r\n"))  # checksum over the bytes as sent
    assert answer.title_identifier.endswith("\ufffd")  # type: ignore[attr-defined]


async def test_empty_aj_is_read_as_a_title_renewal(quirky: Rig) -> None:
    wire = await quirky.wire()
    loans = [v for v in quirky.library.loans(HANAKO) if v.renewable]
    barcode = loans[0].barcode
    common = {
        "transaction_date": NOW, "nb_due_date": NOW, "institution_id": "MIDORI",
        "patron_identifier": HANAKO, "item_identifier": barcode, "terminal_password": "",
    }  # fmt: skip
    refused = await wire.ask(RenewRequest.build(title_identifier="", **common))
    assert not refused.ok  # type: ignore[attr-defined]
    renewed = await wire.ask(RenewRequest.build(**common))
    assert renewed.ok  # type: ignore[attr-defined]
    wire.close()


@pytest.mark.parametrize("flaw", ["no AC in 11", "no AC in 09", "blank nb due date"])
async def test_strict_servers_drop_what_they_cannot_parse(quirky: Rig, flaw: str) -> None:
    wire = await quirky.wire()
    barcode = on_loan(quirky.library)[0]
    if flaw == "no AC in 09":
        request: Message = CheckinRequest.build(
            transaction_date=NOW, return_date=NOW, current_location="CEN",
            institution_id="MIDORI", item_identifier=barcode,
        )  # fmt: skip
        request = dataclasses.replace(
            request, fields=tuple(f for f in request.fields if f[0] != "AC")
        )
    else:
        request = CheckoutRequest.build(
            transaction_date=NOW, institution_id="MIDORI", patron_identifier=HANAKO,
            item_identifier=barcode, terminal_password="",
            nb_due_date=NOW if flaw == "no AC in 11" else SipDate.none(),
        )  # fmt: skip
        if flaw == "no AC in 11":
            request = dataclasses.replace(
                request, fields=tuple(f for f in request.fields if f[0] != "AC")
            )
    await wire.send(request)
    assert await wire.frame() is None


async def test_idle_connections_are_dropped() -> None:
    rig, server = await _rig(Sip2Quirks(idle_drop=0.05))
    try:
        wire = await rig.wire()
        # The ACS closes the silent connection by itself: the read ends, no sleep needed.
        assert await asyncio.wait_for(wire.reader.read(), 10) == b""
    finally:
        await server.aclose()


async def test_renewals_off_while_the_flags_say_yes() -> None:
    rig, server = await _rig(Sip2Quirks(renewals_off=True, misleading_status_flags=True))
    try:
        wire = await rig.wire()
        status = await wire.ask(SCStatus.build())
        assert status.acs_renewal_policy is True  # type: ignore[attr-defined]
        assert status.supported_messages[14] == "Y"  # type: ignore[attr-defined]
        barcode = next(v.barcode for v in rig.library.loans(HANAKO) if v.renewable)
        answer = await wire.ask(
            RenewRequest.build(
                transaction_date=NOW, nb_due_date=NOW, institution_id="MIDORI",
                patron_identifier=HANAKO, item_identifier=barcode,
            )
        )  # fmt: skip
        assert not answer.ok and answer.screen_messages  # type: ignore[attr-defined]
        wire.close()
    finally:
        await server.aclose()


# --- presets and the command line -----------------------------------------------------------


def test_all_quirks_preset_and_names() -> None:
    every = Sip2Quirks.all()
    assert every.pad_lists and every.real_field_order and every.strict_required_fields
    assert every.drop_on == frozenset({"37"}) and not every.status_before_login
    assert every.cr_only_input and Sip2Quirks.named(["cr-only-input"]).cr_only_input
    assert not every.renewals_off
    assert Sip2Quirks.named(["pad-lists"]) == Sip2Quirks(pad_lists=True)
    assert Sip2Quirks.named(["all"]) == every
    assert Sip2Quirks.named(["renewals-off"]).renewals_off
    with pytest.raises(ValueError, match="nonsense"):
        Sip2Quirks.named(["nonsense"])


def test_cli_offers_quirks_and_error_detection() -> None:
    result = CliRunner().invoke(main, ["simulate", "sip2", "--help"])
    assert result.exit_code == 0
    for option in ("--quirk", "--all-quirks", "--require-error-detection"):
        assert option in result.output
    for name in QUIRK_NAMES:
        assert name in result.output
    bad = CliRunner().invoke(main, ["simulate", "sip2", "--quirk", "nonsense"])
    assert bad.exit_code == 2


async def test_the_banner_shows_the_terminator_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--all-quirks`` starts, and says CRLF (crlf-output) rather than the --terminator."""

    class Stop:
        async def wait(self) -> None:
            return None

    monkeypatch.setattr(sip2_cli.asyncio, "Event", Stop)
    await sip2_cli._serve(
        sample_library(), "127.0.0.1", 0, CodecSettings(), {}, {}, Sip2Quirks.all(), False
    )
    out = capsys.readouterr().out
    assert "SIP2 ACS simulator on 127.0.0.1:" in out
    assert "terminator='\\r\\n'" in out and "cr-only-input" in out


async def test_hold_answers_with_ao_before_screen_lines(quirky: Rig) -> None:
    barcode = holdable_waiting_item(quirky.library, HANAKO)
    assert barcode is not None
    wire = await quirky.wire()
    answer = await wire.ask(
        HoldRequest.build(
            hold_mode=HoldMode.ADD, transaction_date=NOW, pickup_location="CEN",
            institution_id="MIDORI", patron_identifier=HANAKO, item_identifier=barcode,
        )
    )  # fmt: skip
    ids = [f for f, _ in answer.fields]
    body = [f for f in ids if f not in ("AF", "AG")]
    assert body[-1] == "AO" and ids.index("AO") == len(body) - 1
    wire.close()
