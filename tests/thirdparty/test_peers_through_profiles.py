"""Third-party SIP2 peers through the kiosk face's terminal profiles (issue 21): the PyPI
``sip2`` client set to CP932 and CRLF, as Japanese self-check machines are, and our own client
as a CRLF machine, every frame each way judged by pysip2's strict decoder in that encoding.

The profile is chosen by address (the relay in front of the face connects from 127.0.0.1), so
the machine's first frame is already read in its framing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from peer_gateway import CARD, FREE, LOAN, PASSWORD, SIM_INSTITUTION, running
from peer_wire import codes, decode_requests, decode_responses
from test_sip2_client_peer import PeerSip2

from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings
from ils_gateway.sip2.fields import SipDate, Summary, SummaryItem
from ils_gateway.sip2.messages import (
    ItemInformationRequest,
    PatronInformationRequest,
)
from ils_gateway.tenants.kiosk_profiles import TerminalProfile

HERE = ("127.0.0.1",)


def frames(data: bytes, terminator: bytes) -> list[bytes]:
    """Whole frames of ``data`` ended by ``terminator`` (each given back with CR, as pysip2
    reads them); nothing may be left over."""
    parts = data.split(terminator)
    assert parts.pop() == b"", "a frame not ended by the profile's terminator"
    assert all(b"\r" not in p and b"\n" not in p for p in parts)
    return [part + b"\r" for part in parts]


async def test_the_pypi_sip2_client_in_cp932_with_crlf() -> None:
    profile = TerminalProfile(name="jp", addresses=HERE, encoding="cp932", terminator="crlf")
    async with running("face", [profile]) as target:
        sip = PeerSip2(target.port)
        sip.hostEncoding, sip.msgTerminator = "cp932", "\r\n"

        def work() -> list[dict[str, Any]]:
            sip.connect()
            try:
                out = []
                for request, parse in (
                    (sip.sip_login_request(target.user, target.password),
                     sip.sip_login_response),
                    (sip.sip_sc_status_request(), sip.sip_sc_status_response),
                ):  # fmt: skip
                    out.append(parse(sip.get_response(request)))
                sip.patron, sip.patronpwd = CARD, PASSWORD
                for request, parse in (
                    (sip.sip_patron_information_request("none"),
                     sip.sip_patron_information_response),
                    (sip.sip_item_information_request(LOAN), sip.sip_item_information_response),
                    (sip.sip_checkout_request(FREE), sip.sip_checkout_response),
                ):  # fmt: skip
                    out.append(parse(sip.get_response(request)))
                return out
            finally:
                sip.disconnect()

        login, status, info, item, checkout = await asyncio.to_thread(work)
        wire = target.tap.wires[0]
        sent, answered = bytes(wire.to_server), bytes(wire.to_client)
    assert login["fixed"]["Ok"] == "1" and status["fixed"]["OnlineStatus"] == "Y"
    assert info["variable"]["AE"] == ["山田 花子"]
    assert item["variable"]["AB"] == [LOAN] and item["variable"]["AJ"][0]
    assert checkout["fixed"]["Ok"] == "1"
    responses = decode_responses(frames(answered, b"\r\n"), "cp932")
    assert codes(responses) == ["94", "98", "64", "18", "12"]
    requests = frames(sent, b"\r\n")
    assert [r[:2] for r in requests] == [b"93", b"99", b"63", b"17", b"11"]
    # The client's 11 has a blank "no block due date", which pysip2 refuses (see
    # test_sip2_client_peer); the rest are judged.
    assert codes(decode_requests(requests[:4], "cp932")) == ["93", "99", "63", "17"]


async def test_our_client_as_a_crlf_machine_judged_by_pysip2() -> None:
    profile = TerminalProfile(name="crlf", addresses=HERE, terminator="crlf")
    when = SipDate.from_datetime(datetime(2025, 6, 2, 10, 0))
    async with running("face", [profile]) as target:
        settings = SIP2ClientSettings(
            host="127.0.0.1",
            port=target.port,
            login_user=target.user,
            login_password=target.password,
            institution_id=SIM_INSTITUTION,
            pool_size=1,
            terminator="\r\n",
        )
        async with SIP2ClientPool(settings) as pool:
            info = await pool.request(
                PatronInformationRequest.build(
                    language="014",
                    transaction_date=when,
                    summary=Summary.of(SummaryItem.CHARGED_ITEMS),
                    start_item="1",
                    end_item="10",
                    institution_id=SIM_INSTITUTION,
                    terminal_password="",
                    patron_identifier=CARD,
                    patron_password=PASSWORD,
                ),
                idempotent=True,
            )
            await pool.request(
                ItemInformationRequest.build(
                    transaction_date=when, institution_id=SIM_INSTITUTION, item_identifier=LOAN
                ),
                idempotent=True,
            )
        wire = target.tap.wires[0]
        sent, answered = bytes(wire.to_server), bytes(wire.to_client)
    assert info.get("AE") == "山田 花子" and LOAN in info.get_all("AU")
    assert codes(decode_responses(frames(answered, b"\r\n"))) == ["94", "98", "64", "18"]
    assert codes(decode_requests(frames(sent, b"\r\n"))) == ["93", "99", "63", "17"]
