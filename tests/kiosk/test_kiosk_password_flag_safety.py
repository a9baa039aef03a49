"""A library system's patron answer whose password-valid flag (CQ) is blank, missing or
anything but exactly "Y" never authenticates anyone — on the SIP2 face, over real TCP, with a
library system (the SIP2 simulator) whose 64 answers are altered on the way out.

Where it is decided: ``adapters.sip2.backend.SIP2Backend.authenticate`` refuses a 64 whose
``valid_patron_password`` is not ``True``; ``FlagVar`` reads CQ as True only for exactly "Y"
(``sip2.fields``). The face authenticates every 23, 63, 11, 29, 65 and 15 through the account
service, which asks the backend's ``authenticate``. A 64 with CQ missing is what an ACS sends
when it did not check the password (SIP2 2.00: CQ optional), so it proves nothing either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from kiosk_support import (
    _SIP2_BACKEND,
    _TENANT,
    CARD,
    FREE,
    SC_PASSWORD,
    SC_USER,
    Clock,
    library_data,
    self_check,
)
from terminal_support import checkout, patron_information, patron_status

from ils_gateway.kiosk.face import open_kiosk_faces
from ils_gateway.runtime.assemble import open_gateway
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sip2_acs import SimulatedACS, server_settings
from ils_gateway.sip2.client import SIP2ClientPool
from ils_gateway.sip2.messages import (
    CheckoutResponse,
    Message,
    PatronInformationResponse,
    PatronStatusResponse,
)
from ils_gateway.sip2.server import SIP2Server, SIP2Session
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

_Handler = Callable[[Message, SIP2Session], Awaitable[Message]]
_MISSING = object()


def _with_cq(answer: Message, cq: object) -> Message:
    """``answer`` (a 64 or 24) with its CQ replaced by ``cq``, or removed (``_MISSING``)."""
    if answer.code not in ("64", "24"):
        return answer
    fields = [f for f in answer.fields if f[0] != "CQ"]
    if cq is not _MISSING:
        assert isinstance(cq, str)
        fields.insert(next(i for i, f in enumerate(fields) if f[0] == "AE") + 1, ("CQ", cq))
    return dataclasses.replace(answer, fields=tuple(fields))


def _tampered(handle: _Handler, cq: object) -> _Handler:
    async def answer(message: Message, session: SIP2Session) -> Message:
        return _with_cq(await handle(message, session), cq)

    return answer


@asynccontextmanager
async def _library_answering_cq(
    cq: object,
) -> AsyncIterator[tuple[SimulatedLibrary, SIP2ClientPool]]:
    """The simulated library behind an ACS whose 64s carry ``cq``, a gateway on it with the
    kiosk face, and a logged-in self-check machine."""
    clock = Clock()
    sim = SimulatedLibrary(library_data(), clock)
    acs = SimulatedACS(sim, logins={"gateway": "acs-secret"}, institution_id="TEST")
    async with AsyncExitStack() as stack:
        server = SIP2Server(_tampered(acs.handle, cq), server_settings(acs))
        await server.start()
        stack.push_async_callback(server.aclose)
        text = _TENANT.format(
            backend=_SIP2_BACKEND.format(port=server.port),
            sc_user=SC_USER,
            sc_password=SC_PASSWORD,
            encoding="utf-8",
            terminator="cr",
            kiosk_disabled='["reading_history"]',
            login_subnets="",
            kiosk="",
        )
        settings = GatewaySettings(
            tenants=TenantRegistry(parse_tenants(text, "<cq test>").tenants),
            clock=clock,
            wrap_backend=None,
        )
        gateway = await stack.enter_async_context(open_gateway(settings))
        faces = await stack.enter_async_context(open_kiosk_faces(gateway))
        machine = await stack.enter_async_context(self_check(faces["testlib"].port))
        yield sim, machine


@pytest.mark.parametrize(
    "cq",
    ["", _MISSING, "N", "y", " Y", "Y ", "YY", "YES", "1"],
    ids=["blank", "missing", "N", "y", "space-Y", "Y-space", "YY", "YES", "1"],
)
async def test_anything_but_exactly_y_authenticates_nobody(cq: object) -> None:
    """24 and 64 say the patron is not let in (BL N, CQ N); a checkout is refused and lends
    nothing."""
    async with _library_answering_cq(cq) as (sim, machine):
        status = await machine.request(patron_status(), idempotent=True)
        assert isinstance(status, PatronStatusResponse)
        assert status.valid_patron is False and status.valid_patron_password is False
        assert status.personal_name == ""
        info = await machine.request(patron_information(), idempotent=True)
        assert isinstance(info, PatronInformationResponse)
        assert info.valid_patron_password is False and info.charged_items_count == 0
        out = await machine.request(checkout(FREE), idempotent=False)
        assert isinstance(out, CheckoutResponse)
        assert not out.ok
        assert out.screen_messages == ["カード番号またはパスワードが正しくありません"]
        assert sim.item_info(FREE).status == "available"


async def test_exactly_y_authenticates() -> None:
    """The same library answering CQ Y: the patron is let in and borrows (so the refusals
    above are the flag's doing, not the tampering's)."""
    async with _library_answering_cq("Y") as (sim, machine):
        status = await machine.request(patron_status(), idempotent=True)
        assert status.valid_patron is True and status.valid_patron_password is True
        assert status.get("AA") == CARD
        out = await machine.request(checkout(FREE), idempotent=False)
        assert out.ok and sim.item_info(FREE).status == "checked_out"
