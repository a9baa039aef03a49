"""Our SIP2 servers for the third-party peers: the SIP2 simulator over the sample library, and
the gateway's kiosk face (the demo tenant, its backend that simulator), each on a free port of
127.0.0.1 behind a recording relay (``peer_wire.FrameTap``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from peer_wire import FrameTap

from ils_gateway.kiosk.face import open_kiosk_faces
from ils_gateway.runtime.assemble import open_gateway
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sip2_acs import start_sip2_simulator
from ils_gateway.tenants.demo import demo_tenant
from ils_gateway.tenants.kiosk_profiles import TerminalProfile
from ils_gateway.tenants.loader import TenantRegistry

# The sample library's first demo patron: three loans and holds in every state.
CARD, PASSWORD = "1000000001", "hanako01"
LOAN = "2100000046"  # hanako's, due 2025-06-09, at its renewal limit
RENEWABLE = "2100000001"  # hanako's, due 2025-06-04, renewable
FREE = "2100000002"  # on the shelf, lendable
HOLDABLE = "2100000026"  # every copy of its title lent; hanako has no hold on it
# The simulator's and the face's 93 logins.
ACS_USER, ACS_PASSWORD = "gateway", "demo"
SC_USER, SC_PASSWORD = "sc01", "demo-selfcheck"
SIM_INSTITUTION = "DEMO"


@dataclass
class Target:
    """A running SIP2 server of ours as a peer sees it: its tap's port, the 93 login."""

    name: str
    tap: FrameTap
    user: str
    password: str
    library: SimulatedLibrary

    @property
    def port(self) -> int:
        return self.tap.port


@asynccontextmanager
async def running(name: str, profiles: Sequence[TerminalProfile] = ()) -> AsyncIterator[Target]:
    """``"simulator"``: the SIP2 simulator; ``"face"``: the kiosk face in front of it (with
    these terminal ``profiles``, issue 21)."""
    library = sample_library()
    async with AsyncExitStack() as stack:
        server, _acs = await start_sip2_simulator(
            library, logins={ACS_USER: ACS_PASSWORD}, institution_id=SIM_INSTITUTION
        )
        stack.push_async_callback(server.aclose)
        if name == "simulator":
            tap = await stack.enter_async_context(FrameTap(server.port))
            yield Target(name, tap, ACS_USER, ACS_PASSWORD, library)
            return
        tenant = demo_tenant(server.port)
        assert tenant.kiosk_sip2 is not None
        face = tenant.kiosk_sip2.model_copy(update={"port": 0, "profiles": tuple(profiles)})
        tenant = tenant.model_copy(update={"kiosk_sip2": face, "elibrary": None})
        settings = GatewaySettings(
            tenants=TenantRegistry([tenant]), clock=library.now, wrap_backend=None
        )
        gateway = await stack.enter_async_context(open_gateway(settings))
        faces = await stack.enter_async_context(open_kiosk_faces(gateway))
        tap = await stack.enter_async_context(FrameTap(faces["demo"].port))
        yield Target(name, tap, SC_USER, SC_PASSWORD, library)
