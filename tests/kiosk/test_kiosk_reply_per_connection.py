"""Each connection is answered by its own rules (``KioskFace.rules_for``): the hook a terminal
profile plugs into. Here a face whose machines logging in from location ``GATE`` get a
profile's reply and policy (``resolve_rules`` with an override), the others the tenant's."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass

from kiosk_support import FREE, FREE_2, SC_PASSWORD, SC_USER, Clock, running
from terminal_support import checkout, patron_status, tenant_toml

from ils_gateway.kiosk.config import server_settings
from ils_gateway.kiosk.face import KioskFace
from ils_gateway.kiosk.services import kiosk_services
from ils_gateway.kiosk.terminal_rules import TerminalRules, resolve_rules
from ils_gateway.sip2.client import SIP2ClientPool, SIP2ClientSettings
from ils_gateway.sip2.messages import LoginRequest, LoginResponse
from ils_gateway.sip2.server import SIP2Server, SIP2Session
from ils_gateway.tenants.terminal_policy import TerminalPolicy
from ils_gateway.tenants.terminal_reply import ReplyShaping


@dataclass(frozen=True)
class _Profile:
    reply: ReplyShaping | None
    policy: TerminalPolicy | None


_GATE = _Profile(
    reply=ReplyShaping(patron_name_template="[{name}]"),
    policy=TerminalPolicy(blocked_patron_categories=frozenset({"adult"})),
)


class _ProfiledFace(KioskFace):
    async def _terminal_login(self, msg: LoginRequest, session: SIP2Session) -> LoginResponse:
        session.data["location"] = msg.location_code
        return await super()._terminal_login(msg, session)

    def rules_for(self, session: SIP2Session) -> TerminalRules:
        if session.data.get("location") == "GATE":
            return resolve_rules(self._config, _GATE)
        return super().rules_for(session)


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
    async with running("sip2", Clock(), extra=tenant_toml(reply)) as setup:
        runtime = setup.gateway.tenant("testlib")
        config = runtime.config.kiosk_sip2
        assert config is not None
        face = _ProfiledFace(kiosk_services(runtime), config)
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
