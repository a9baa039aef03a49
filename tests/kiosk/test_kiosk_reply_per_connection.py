"""Each connection is answered by its own rules (``KioskFace.rules_for``): machines logging in
from location ``GATE`` get their terminal profile's reply and policy (from the tenant file),
the others the tenant's."""

from __future__ import annotations

from contextlib import AsyncExitStack

from kiosk_support import FREE, FREE_2, SC_PASSWORD, SC_USER, Clock, running
from terminal_support import checkout, patron_status, tenant_toml

from ils_gateway.kiosk.config import server_settings
from ils_gateway.kiosk.face import KioskFace
from ils_gateway.kiosk.services import kiosk_services
from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings
from ils_gateway.sip2.server import SIP2Server

# A terminal profile chosen at login by the 93's location code, with its own reply shaping
# and policy (each replacing the tenant's whole: kiosk.terminal_rules.resolve_rules).
_GATE_PROFILE = """
[[tenants.kiosk_sip2.profiles]]
name = "gate"
locations = ["GATE"]
reply = { patron_name_template = "[{name}]" }
policy = { blocked_patron_categories = ["adult"] }
"""


def _machine(port: int, location: str | None) -> SIP2ClientPool:
    return SIP2ClientPool(
        SIP2ClientSettings(
            host="127.0.0.1",
            port=port,
            login_user=SC_USER,
            login_password=SC_PASSWORD,
            institution_id="TEST",
            pool_size=1,
            location_code=location,
        )
    )


async def test_each_connection_gets_its_rules() -> None:
    reply = 'patron_name_template = "{name}様"'
    async with running("sip2", Clock(), extra=tenant_toml(reply), kiosk=_GATE_PROFILE) as setup:
        runtime = setup.gateway.tenant("testlib")
        config = runtime.config.kiosk_sip2
        assert config is not None
        face = KioskFace(kiosk_services(runtime), config)
        async with AsyncExitStack() as stack:
            server = await stack.enter_async_context(
                SIP2Server(face.handle, server_settings(config))
            )
            gate = await stack.enter_async_context(_machine(server.port, "GATE"))
            desk = await stack.enter_async_context(_machine(server.port, "DESK"))
            at_gate = await gate.request(patron_status(), idempotent=True)
            at_desk = await desk.request(patron_status(), idempotent=True)
            assert at_gate.personal_name == "[山田 花子]"
            assert at_desk.personal_name == "山田 花子様"
            refused = await gate.request(checkout(FREE), idempotent=False)
            assert not refused.ok
            lent = await desk.request(checkout(FREE_2), idempotent=False)
            assert lent.ok
