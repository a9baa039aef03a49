"""The SIP2 simulator with a request log, and the tenant config that reaches it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sip2_acs import SimulatedACS, Sip2Quirks
from ils_gateway.sip2.messages import Message
from ils_gateway.sip2.server import SIP2Session
from ils_gateway.tenants.backends import Sip2Backend as Sip2BackendConfig

LOGIN_USER = "gateway"
LOGIN_PASSWORD = "s3cret"

Handler = Callable[[Message, SIP2Session], Awaitable[Message]]


class RecordingACS:
    """The simulated ACS with a request log (codes in order) and an optional interceptor."""

    def __init__(self, library: SimulatedLibrary, quirks: Sip2Quirks | None = None) -> None:
        self.acs = SimulatedACS(
            library, logins={LOGIN_USER: LOGIN_PASSWORD}, quirks=quirks or Sip2Quirks()
        )
        self.log: list[str] = []
        self.intercept: Callable[[Message, SIP2Session, Handler], Awaitable[Message]] | None = None

    @property
    def counts(self) -> Counter[str]:
        return Counter(self.log)

    async def handle(self, message: Message, session: SIP2Session) -> Message:
        self.log.append(message.code)
        if self.intercept is not None:
            return await self.intercept(message, session, self.acs.handle)
        return await self.acs.handle(message, session)


def backend_config(port: int, **extra: object) -> Sip2BackendConfig:
    return Sip2BackendConfig.model_validate(
        {
            "kind": "sip2",
            "host": "127.0.0.1",
            "port": port,
            "login_user": LOGIN_USER,
            "login_password": LOGIN_PASSWORD,
            "institution_id": "MIDORI",
            "title_hold_entries": "record_id_title",  # as the simulator lists them
            **extra,
        }
    )
