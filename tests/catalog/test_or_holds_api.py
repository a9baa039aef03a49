"""OR-holds (いずれか予約, issue 19) over the Koha and SIP2 simulators: place a group through the
record-hold path, list it, fill one hold → the others are cancelled once, cancel a group,
limits, bad input before any I/O, and a tenant that does not offer them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from catalog_sites import SRU_TABLE, TENANTS, Sites, example

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.keys import GATEWAY_KEY
from ils_gateway.runtime.simulated import simulated_settings
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.services.mylists.sequence_enforcement import enforce_hold_sequences
from ils_gateway.simulators.outcomes import HoldState
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.store.engine import default_url
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

SECRET = b"or-holds-test-secret-0123456789ab"
TITLES = (
    "走れメロス",
    "注文の多い料理店",
    "たけくらべ",
    "銀河鉄道の夜",
    "吾輩は猫である",
)  # all out
HOLDS_TABLE = "[tenants.policy.holds]\n"


def _offering(text: str, limit: int) -> str:
    assert HOLDS_TABLE in text
    return text.replace(HOLDS_TABLE, f"{HOLDS_TABLE}or_holds_max = {limit}\n", 1)


class Site:
    """One tenant on its simulator, with the gateway store on SQLite."""

    def __init__(self, sites: Sites, kind: str, clock: ManualClock) -> None:
        self.sites = sites
        self.kind = kind
        self.tenant = TENANTS[kind]
        self.base = f"/v1/tenants/{self.tenant}"
        self.clock = clock
        self.library = sites.library(self.tenant)
        self.card = sites.login(self.tenant)[0]
        self.auth: dict[str, str] = {}

    async def login(self) -> None:
        card, password = self.sites.login(self.tenant)
        response = await self.sites.client.post(
            f"{self.base}/sessions", json={"card_number": card, "password": password}
        )
        assert response.status == 201, await response.text()
        self.auth = {"Authorization": f"Bearer {(await response.json())['token']}"}

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        response = await self.sites.client.request(
            method, f"{self.base}{path}", json=body, headers=self.auth
        )
        text = await response.text()
        return response.status, (await response.json() if text else None)

    async def records(self, n: int) -> list[str]:
        """``n`` holdable records the patron holds nothing of yet."""
        _, listed = await self.call("GET", "/holds")
        held = {h["item"]["title"] for h in listed["holds"]}
        found: list[str] = []
        for title in TITLES:
            if title in held or len(found) == n:
                continue
            page = await self.sites.get(f"{self.base}/catalog/search?title={title}")
            record = next((r for r in page["records"] if r["title"] == title), None)
            if record is None:
                continue
            detail = await self.sites.get(f"{self.base}/catalog/records/{record['id']}")
            if detail["holdable"]:
                found.append(record["id"])
        assert len(found) == n, found
        return found

    def fill(self, title: str) -> None:
        """A copy of ``title`` comes back at the pickup library and goes to the patron's hold
        (nobody else waits for these titles): on the pickup shelf."""
        lib = self.library
        view = next(h for h in lib.holds(self.card) if h.title == title)
        info = lib.items_of(view.biblio_id)[0]
        lib.checkin(info.barcode, lib._pickup_branch(view.pickup))
        assert lib.hold_by_id(view.hold_id).state is HoldState.AWAITING_PICKUP

    def cancelled(self) -> int:
        return sum(
            1
            for h in self.library.holds(self.card, include_closed=True)
            if h.state is HoldState.CANCELLED
        )

    async def run_job(self) -> Any:
        """The periodic enforcement job over this tenant."""
        runtime = self.sites.client.app[GATEWAY_KEY].tenant(self.tenant)
        lists = runtime.mylists
        return await enforce_hold_sequences(
            lists.store,
            lists.sequences,
            runtime.config,
            runtime.context.backend,
            lists.roster,
            lists.or_holds,
        )

    def later(self) -> None:
        self.clock.advance(minutes=10)  # past the gateway's read cache


@pytest.fixture
def open_site(aiohttp_client: Any, tmp_path: Path) -> Any:
    async def start(kind: str, limit: int = 3) -> Site:
        text = {"sip2": example("saitama", SRU_TABLE), "koha": example("koha-demo")}[kind]
        if limit:
            text = _offering(text, limit)
        clock = ManualClock(SAMPLE_NOW)
        store = StoreSettings(
            default_url(tmp_path / f"{kind}.sqlite3"), SECRET, kdf=KdfParams.minimal()
        )
        run = await simulated_settings(
            TenantRegistry(parse_tenants(text).tenants), clock=clock, store=store
        )
        site = Site(Sites(await aiohttp_client(create_app(run.settings)), run), kind, clock)
        await site.login()
        return site

    return start


@pytest.mark.parametrize("kind", ["sip2", "koha"])
async def test_or_holds_place_list_fill_and_clear(open_site: Any, kind: str) -> None:
    site: Site = await open_site(kind)
    records = await site.records(2)
    pickup = (await site.sites.get(f"{site.base}/catalog/records/{records[0]}"))[
        "pickup_libraries"
    ][0]["code"]
    status, group = await site.call(
        "POST", "/or-holds", {"record_ids": records, "pickup_library": pickup}
    )
    assert status == 201, group
    assert [m["record_id"] for m in group["members"]] == records
    assert all(m["hold"] and m["hold"]["status"] == "waiting" for m in group["members"]), [
        m["hold"] and (m["hold"]["status"], m["hold"]["item"]["title"]) for m in group["members"]
    ]
    status, listed = await site.call("GET", "/or-holds")
    assert status == 200
    assert [g["group_id"] for g in listed["groups"]] == [group["group_id"]]
    before = site.cancelled()

    first, second = (m["hold"]["item"]["title"] for m in group["members"])
    site.fill(first)
    site.later()
    status, holds = await site.call("GET", "/holds")  # reading the list clears the group
    assert status == 200
    active = {h["item"]["title"]: h["status"] for h in holds["holds"] if h["status"] != "cancelled"}
    assert active.get(first) == "ready"
    assert second not in active
    assert site.cancelled() == before + 1
    assert (await site.call("GET", "/or-holds"))[1]["groups"] == []

    # Looking again, or the periodic job, cancels nothing more.
    site.later()
    await site.call("GET", "/holds")
    report = await site.run_job()
    assert (report.or_groups_cleared, report.or_holds_cancelled) == (0, 0)
    assert site.cancelled() == before + 1


@pytest.mark.parametrize("kind", ["sip2", "koha"])
async def test_or_holds_cleared_by_the_periodic_job(open_site: Any, kind: str) -> None:
    site: Site = await open_site(kind)
    records = await site.records(3)
    status, group = await site.call(
        "POST", "/or-holds", {"record_ids": records, "pickup_library": "CEN"}
    )
    assert status == 201, group
    before = site.cancelled()
    site.fill(group["members"][1]["hold"]["item"]["title"])
    site.later()
    report = await site.run_job()
    assert (report.or_groups_cleared, report.or_holds_cancelled) == (1, 2)
    assert site.cancelled() == before + 2
    site.later()
    report = await site.run_job()
    assert (report.or_groups_cleared, report.or_holds_cancelled) == (0, 0)
    assert site.cancelled() == before + 2


@pytest.mark.parametrize("kind", ["sip2", "koha"])
async def test_or_holds_cancel_a_group(open_site: Any, kind: str) -> None:
    site: Site = await open_site(kind)
    records = await site.records(2)
    pickup = (await site.sites.get(f"{site.base}/catalog/records/{records[0]}"))[
        "pickup_libraries"
    ][0]["code"]
    status, group = await site.call(
        "POST", "/or-holds", {"record_ids": records, "pickup_library": pickup}
    )
    assert status == 201, group
    before = site.cancelled()
    status, _ = await site.call("DELETE", f"/or-holds/{group['group_id']}")
    assert status == 204
    assert site.cancelled() == before + 2
    assert (await site.call("GET", "/or-holds"))[1]["groups"] == []
    status, problem = await site.call("DELETE", f"/or-holds/{group['group_id']}")
    assert status == 404, problem


async def test_or_holds_bad_input_and_limits(open_site: Any) -> None:
    site: Site = await open_site("koha", limit=2)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"record_ids": ["1"], "pickup_library": "CEN"}, "record_ids"),
        ({"record_ids": ["1", "2", "3"], "pickup_library": "CEN"}, "record_ids"),
        ({"record_ids": ["1", "1"], "pickup_library": "CEN"}, "record_ids"),
        ({"record_ids": ["1", ""], "pickup_library": "CEN"}, "record_ids"),
        ({"record_ids": ["1", "2"]}, "pickup_library"),
        ({"record_ids": "1,2", "pickup_library": "CEN"}, "record_ids"),
    ]
    holds_before = len(site.library.holds(site.card, include_closed=True))
    for body, field in bad:
        status, problem = await site.call("POST", "/or-holds", body)
        assert status in (400, 422), (body, problem)
        assert field in problem["detail"], (body, problem)
    assert len(site.library.holds(site.card, include_closed=True)) == holds_before
    status, problem = await site.call("DELETE", "/or-holds/nope")
    assert status == 404


async def test_or_holds_refused_record_places_nothing(open_site: Any) -> None:
    site: Site = await open_site("koha")
    reference = await site.sites.get(f"{site.base}/catalog/search?title=広辞苑")
    records = [*await site.records(1), reference["records"][0]["id"]]
    before = site.cancelled()
    status, problem = await site.call(
        "POST", "/or-holds", {"record_ids": records, "pickup_library": "CEN"}
    )
    assert status == 422, problem
    assert site.cancelled() == before + 1  # the first hold was taken back
    assert (await site.call("GET", "/or-holds"))[1]["groups"] == []


@pytest.mark.parametrize("kind", ["sip2", "koha"])
async def test_or_holds_off_unless_offered(open_site: Any, kind: str) -> None:
    site: Site = await open_site(kind, limit=0)
    for method, path, body in (
        ("GET", "/or-holds", None),
        ("POST", "/or-holds", {"record_ids": ["1", "2"], "pickup_library": "CEN"}),
        ("DELETE", "/or-holds/abc", None),
    ):
        status, problem = await site.call(method, path, body)
        assert status == 403, (method, problem)
        assert problem["type"].endswith("feature-disabled"), problem


async def test_or_holds_a_hold_cancelled_at_the_library_leaves_its_group(open_site: Any) -> None:
    site: Site = await open_site("koha")
    records = await site.records(3)
    status, group = await site.call(
        "POST", "/or-holds", {"record_ids": records, "pickup_library": "CEN"}
    )
    assert status == 201, group
    gone, *kept = group["members"]
    view = next(
        h for h in site.library.holds(site.card) if h.title == gone["hold"]["item"]["title"]
    )
    site.library.cancel_hold(site.card, view.hold_id, by_staff=True)
    before = site.cancelled()
    site.later()
    _, listed = await site.call("GET", "/or-holds")
    assert [[m["hold_id"] for m in g["members"]] for g in listed["groups"]] == [
        [m["hold_id"] for m in kept]
    ]
    assert site.cancelled() == before  # nothing else was cancelled
    # One more gone: a lone record is no choice, the group goes and its hold stays.
    view = next(
        h for h in site.library.holds(site.card) if h.title == kept[0]["hold"]["item"]["title"]
    )
    site.library.cancel_hold(site.card, view.hold_id, by_staff=True)
    site.later()
    assert (await site.call("GET", "/or-holds"))[1]["groups"] == []
    assert site.cancelled() == before + 1


@pytest.mark.parametrize("kind", ["sip2", "koha"])
async def test_or_holds_collected_between_two_looks(open_site: Any, kind: str) -> None:
    site: Site = await open_site(kind)
    records = await site.records(2)
    status, group = await site.call(
        "POST", "/or-holds", {"record_ids": records, "pickup_library": "CEN"}
    )
    assert status == 201, group
    before = site.cancelled()
    title = group["members"][0]["hold"]["item"]["title"]
    site.fill(title)
    barcode = next(h.barcode for h in site.library.holds(site.card) if h.title == title)
    assert barcode is not None
    site.library.checkout(site.card, barcode)  # collected before the gateway looked
    site.later()
    report = await site.run_job()
    assert (report.or_groups_cleared, report.or_holds_cancelled) == (1, 1)
    assert site.cancelled() == before + 1
    assert (await site.call("GET", "/or-holds"))[1]["groups"] == []
