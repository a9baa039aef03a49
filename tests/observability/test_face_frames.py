"""A kiosk face's ``log_frames`` (issue 17): the server side logs its frames at info, redacted
by the same table as the client (passwords never, cards masked, items as lengths)."""

from __future__ import annotations

import logging

import structlog

from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import start_sip2_simulator
from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings
from ils_gateway.sip2.fields import SipDate, Summary, SummaryItem
from ils_gateway.sip2.messages import PatronInformationRequest
from ils_gateway.sip2.server import SIP2Server, SIP2ServerSettings

CARD, PASSWORD = "1000000001", "hanako01"


async def test_server_face_logs_redacted_frames_at_info() -> None:
    simulator, acs = await start_sip2_simulator(sample_library())
    await simulator.aclose()  # its handler, on a face that logs frames
    face = SIP2Server(acs.handle, SIP2ServerSettings(log_frames=True))
    await face.start()
    request = PatronInformationRequest.build(
        transaction_date=SipDate("20250602    100000"),
        summary=Summary.of(SummaryItem.CHARGED_ITEMS),
        institution_id="MIDORI",
        patron_identifier=CARD,
        patron_password=PASSWORD,
        terminal_password="term-pw",
    )
    try:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
        with structlog.testing.capture_logs() as logs:
            settings = SIP2ClientSettings(host="127.0.0.1", port=face.port)
            async with SIP2ClientPool(settings) as pool:
                answer = await pool.request(request, idempotent=True)
    finally:  # the suite's fixture puts structlog's configuration back
        await face.aclose()
    served = [e for e in logs if e["event"] == "sip2.frame" and "peer" in e]
    assert {(e["code"], e["direction"]) for e in served} >= {("63", "in"), ("64", "out")}
    assert {e["log_level"] for e in served} == {"info"}
    assert answer.charged_items
    text = repr(logs)
    for secret in (PASSWORD, "term-pw", CARD, *answer.charged_items):
        assert secret not in text
