"""Item information that records the copy as seen (issue 21; Koha's SIP account setting
``seen_on_item_information``): with ``reply.item_seen`` every 17 reaches the library's ACS,
never the gateway's read cache, so an ACS that records a 17 as a sighting (``keep_lost``:
last-seen day only; ``mark_found``: a lost copy found too) records each one. Over the SIP2
simulator behind a gateway with its read cache, as deployed; Koha REST and FOLIO tenants are
refused, as neither API records a sighting."""

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


async def test_without_item_seen_a_repeated_17_is_answered_from_the_cache() -> None:
    """The contrast: the gateway's read cache answers the second 17, so the ACS never sees it."""
    acs = {"seen_on_item_information": "keep_lost"}
    clock = Clock()
    async with running("sip2", clock, cached=True, acs=acs) as setup:
        await _ask(setup)
        assert _last_seen(setup) == clock().date()
        next(i for i in setup.sim.data.items if i.barcode == FREE).last_seen = None
        await _ask(setup)
        assert _last_seen(setup) is None  # the 17 stopped at the gateway


async def test_item_seen_sends_every_17_to_the_acs_which_keeps_a_lost_copy_lost() -> None:
    acs = {"seen_on_item_information": "keep_lost"}
    clock = Clock()
    extra = tenant_toml("item_seen = true")
    async with running("sip2", clock, cached=True, acs=acs, extra=extra) as setup:
        _lost(setup)
        first = await _ask(setup)
        assert first.circulation_status is CirculationStatus.LOST
        assert _last_seen(setup) == clock().date()
        next(i for i in setup.sim.data.items if i.barcode == FREE).last_seen = None
        again = await _ask(setup)
        assert _last_seen(setup) == clock().date()  # the second 17 reached the ACS too
        assert again.circulation_status is CirculationStatus.LOST  # keep_lost


async def test_item_seen_with_mark_found_answers_the_found_copy() -> None:
    """Koha's mark_found: the 17 finds a lost copy; the machine is told what the ACS says
    after it, and the gateway's cache holds that, not the lost copy it read before."""
    acs = {"seen_on_item_information": "mark_found"}
    clock = Clock()
    extra = tenant_toml("item_seen = true")
    async with running("sip2", clock, cached=True, acs=acs, extra=extra) as setup:
        _lost(setup)
        answer = await _ask(setup)
        assert answer.circulation_status is CirculationStatus.AVAILABLE
        assert setup.sim.item_info(FREE).status == ItemStatus.AVAILABLE.value
        item = await setup.gateway.tenant("testlib").context.backend.get_item(FREE)  # cached
        assert item.circulation_status == "available"


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
