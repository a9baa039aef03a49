"""BX decoded into named flags (``SupportedMessages``), and the pool's ``supports`` built on it."""

from __future__ import annotations

import pytest

from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import start_sip2_simulator
from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings
from ils_gateway.sip2.fields import SUPPORTED_MESSAGE_ORDER, SupportedMessages


def test_edmonton_bx_names_each_flag() -> None:
    # 98 from Edmonton Public Library (SirsiDynix), reference frame [19]: BXYYYYYYYYYYYNNYYY
    flags = SupportedMessages.from_bx("YYYYYYYYYYYNNYYY")
    assert flags.patron_status and flags.checkout and flags.checkin and flags.block_patron
    assert flags.sc_acs_status and flags.request_resend and flags.login
    assert flags.patron_information and flags.end_patron_session and flags.fee_paid
    assert flags.item_information
    assert not flags.item_status_update and not flags.patron_enable
    assert flags.hold and flags.renew and flags.renew_all


def test_order_matches_the_spec_codes() -> None:
    for i, code in enumerate(SUPPORTED_MESSAGE_ORDER):
        one = SupportedMessages.from_bx("N" * i + "Y" + "N" * (15 - i))
        assert one.codes == {code}
        assert one.supports(code)
        assert one.to_bx() == "N" * i + "Y" + "N" * (15 - i)


@pytest.mark.parametrize(
    ("bx", "expected"),
    [
        (None, ""),
        ("", ""),
        ("YYY", "YYY" + "N" * 13),  # short: missing flags are N
        ("yyNU" + "Y" * 12, "YYNN" + "Y" * 12),  # lower case counts, U is not Y
        ("Y" * 18, "Y" * 16),  # extra characters ignored (seen from real ACSs)
    ],
)
def test_lenient_decoding(bx: str | None, expected: str) -> None:
    assert SupportedMessages.from_bx(bx).to_bx() == expected.ljust(16, "N")


def test_codes_outside_bx_are_unsupported() -> None:
    assert not SupportedMessages.from_bx("Y" * 16).supports("18")


async def test_pool_supports_reads_the_acs_bx() -> None:
    bx = "YYYNYNYYYYYNNNYN"  # no hold (15), no renew all (65)
    server, _ = await start_sip2_simulator(sample_library(), supported_messages=bx)
    pool = SIP2ClientPool(SIP2ClientSettings(host="127.0.0.1", port=server.port, pool_size=1))
    try:
        assert pool.supports("29") is None and pool.supported_messages is None  # not yet known
        await pool.start()
        assert pool.supported_messages == SupportedMessages.from_bx(bx)
        assert pool.supports("29") is True
        assert pool.supports("15") is False
        assert pool.supports("65") is False
        assert pool.supports("18") is None  # a response code: BX does not say
    finally:
        await pool.aclose()
        await server.aclose()
