"""Item information that records the copy as seen (issue 21; Koha's SIP account setting
``seen_on_item_information``): with ``reply.item_seen`` every 17 of a self-check goes to the
library's ACS over the backend's ``sighting_login`` (the ACS account that records a 17 as a
sighting: ``keep_lost``, last-seen day only; ``mark_found``, a lost copy found too), never
answered from the gateway's read cache; the gateway's own item reads go over its usual login
and never count. Over the SIP2 simulator behind a gateway with its read cache, as deployed;
Koha REST and FOLIO tenants, and a SIP2 tenant without a sighting login, are refused."""

from __future__ import annotations

import pytest
from kiosk_support import FREE, Clock, running
from terminal_support import item_information, tenant_toml

from ils_gateway.simulators.records import ItemStatus
from ils_gateway.sip2.fields import CirculationStatus
from ils_gateway.sip2.messages import ItemInformationResponse
from ils_gateway.tenants.loader import TenantConfigError, parse_tenants


def _lost(setup) -> None:  # type: ignore[no-untyped-def]
    copy = next(i for i in setup.sim.data.items if i.barcode == FREE)
    copy.status, copy.last_seen = ItemStatus.LOST, None


def _last_seen(setup):  # type: ignore[no-untyped-def]
    return setup.sim.item_info(FREE).last_seen


async def _ask(setup) -> ItemInformationResponse:  # type: ignore[no-untyped-def]
    answer = await setup.machine.request(item_information(FREE), idempotent=True)
    assert isinstance(answer, ItemInformationResponse)
    return answer


def _face(clock: Clock, seen_on_acs: str, *, item_seen: bool):  # type: ignore[no-untyped-def]
    """The SIP2 simulator whose login ``seer`` has ``seen_on_item_information`` set to
    ``seen_on_acs`` (the backend's sighting login), behind a gateway with its read cache."""
    extra = tenant_toml("item_seen = true") if item_seen else ""
    return running("sip2", clock, cached=True, sightings=seen_on_acs, extra=extra)


def _forget_sighting(setup) -> None:  # type: ignore[no-untyped-def]
    next(i for i in setup.sim.data.items if i.barcode == FREE).last_seen = None


async def test_without_item_seen_a_17_is_no_sighting() -> None:
    """The contrast: the face asks over the gateway's own login, which records nothing."""
    async with _face(Clock(), "keep_lost", item_seen=False) as setup:
        await _ask(setup)
        assert _last_seen(setup) is None


async def test_item_seen_sends_every_17_over_the_sighting_login_and_keeps_lost_lost() -> None:
    clock = Clock()
    async with _face(clock, "keep_lost", item_seen=True) as setup:
        _lost(setup)
        backend = setup.gateway.tenant("testlib").context.backend
        await backend.get_item(FREE)  # the gateway's own read (a record view): no sighting
        assert _last_seen(setup) is None
        first = await _ask(setup)
        assert first.circulation_status is CirculationStatus.LOST
        assert _last_seen(setup) == clock().date()
        _forget_sighting(setup)
        again = await _ask(setup)
        assert _last_seen(setup) == clock().date()  # the second 17 reached the ACS too
        assert again.circulation_status is CirculationStatus.LOST  # keep_lost


async def test_item_seen_with_mark_found_answers_the_found_copy() -> None:
    """Koha's mark_found: the 17 finds a lost copy; the machine is told what the ACS says
    after it, and the gateway's cache holds that, not the lost copy it read before."""
    async with _face(Clock(), "mark_found", item_seen=True) as setup:
        _lost(setup)
        backend = setup.gateway.tenant("testlib").context.backend
        assert (await backend.get_item(FREE)).circulation_status == "lost"  # now cached
        answer = await _ask(setup)
        assert answer.circulation_status is CirculationStatus.AVAILABLE
        assert setup.sim.item_info(FREE).status == ItemStatus.AVAILABLE.value
        assert (await backend.get_item(FREE)).circulation_status == "available"  # cached


_KOHA = """
[[tenants]]
id = "koha-lib"
name = "K"
[tenants.backend]
kind = "koha"
base_url = "http://127.0.0.1:1/api/v1"
client_id = "x"
client_secret = "y"
[tenants.kiosk_sip2]
enabled = true
port = 0
institution_id = "K"
{profiles}
"""


@pytest.mark.parametrize(
    ("profiles", "where"),
    [
        ("[tenants.kiosk_sip2.reply]\nitem_seen = true\n", "kiosk_sip2.reply.item_seen"),
        (
            '[[tenants.kiosk_sip2.profiles]]\nname = "gate"\nports = [1]\n'
            "[tenants.kiosk_sip2.profiles.reply]\nitem_seen = true\n",
            "kiosk_sip2.profiles['gate'].reply.item_seen",
        ),
    ],
)
def test_item_seen_is_refused_where_no_acs_can_record_it(profiles: str, where: str) -> None:
    with pytest.raises(TenantConfigError) as refused:
        parse_tenants(_KOHA.format(profiles=profiles), "<test>")
    assert where in str(refused.value) and "koha" in str(refused.value)


_SIP2 = """
[[tenants]]
id = "sip-lib"
name = "S"
[tenants.backend]
kind = "sip2"
host = "127.0.0.1"
port = 6001
{login}
[tenants.kiosk_sip2]
enabled = true
port = 0
institution_id = "S"
[tenants.kiosk_sip2.reply]
item_seen = true
"""


def test_item_seen_on_sip2_needs_the_sighting_login() -> None:
    with pytest.raises(TenantConfigError) as refused:
        parse_tenants(_SIP2.format(login=""), "<test>")
    assert "kiosk_sip2.reply.item_seen: needs [tenants.backend.sighting_login]" in str(
        refused.value
    )
    login = 'sighting_login = { user = "seer", password = "x" }'
    parsed = parse_tenants(_SIP2.format(login=login), "<test>").tenants[0]
    assert parsed.kiosk_sip2 is not None and parsed.kiosk_sip2.reply.item_seen
