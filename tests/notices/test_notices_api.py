"""Notice preferences over HTTP (the logged-in patron) and the staff's call list (operator key).

Gateway app → Koha adapter → Koha simulator on 127.0.0.1, store on a SQLite file.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "services" / "mylists"))

import mylists_api_support as support
import pytest
from mylists_api_support import KIOSK_KEY, SECRET, T, login
from mylists_support import TENANT_TOML, koha_backend

from address_links import confirmed_address
from ils_gateway.api.app import create_app
from ils_gateway.domain.models import Hold, Item
from ils_gateway.domain.vocab import HoldStatus
from ils_gateway.runtime.keys import GATEWAY_KEY
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.store.engine import default_url
from ils_gateway.store.reading_history import KdfParams
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

globals().update({k: support.FIXTURES[k] for k in ("lists_clock", "koha_sim")})

NOTICES = """
[tenants.notices]
due_reminder_days = 3
due_reminder_days_max = 5
child_entry_mail = true
operator_keys = ["staff-key-1"]
"""
STAFF = {"Authorization": "Bearer staff-key-1"}


@pytest.fixture
async def gw(aiohttp_client, koha_sim, lists_clock, tmp_path: Path):  # type: ignore[no-untyped-def]
    sim, url = koha_sim
    text = TENANT_TOML.format(id="testlib").replace("http://127.0.0.1:9", url)
    name = 'name = "テスト市立図書館"\n'
    text = text.replace(name, f'{name}kiosk_keys = ["{KIOSK_KEY}"]\n', 1)
    text = text.replace('contact_methods = ["email", "none"]', "") + NOTICES
    settings = GatewaySettings(
        tenants=TenantRegistry(parse_tenants(text, "<test>").tenants),
        clock=lists_clock,
        backend_factory=lambda _tenant, *_: koha_backend(url, sim),
        wrap_backend=None,
        store=StoreSettings(default_url(tmp_path / "gw.db"), SECRET, kdf=KdfParams.minimal()),
    )
    return await aiohttp_client(create_app(settings))


async def test_patron_reads_and_changes_notice_preferences_bad_fields_are_named(gw) -> None:  # type: ignore[no-untyped-def]
    auth = await login(gw)
    got = await gw.get(f"{T}/patron/notices", headers=auth)
    assert got.status == 200
    view = await got.json()
    assert (view["contact_method"], view["due_reminder"], view["due_reminder_days"]) == (
        "mail",
        False,
        3,
    )
    for body, field in (
        ({"due_reminder_days": 6}, "due_reminder_days"),
        ({"due_reminder_days": "x"}, "due_reminder_days"),
        ({"contact_method": "fax"}, "contact_method"),
        ({"due_reminder": None}, "due_reminder"),
        ({"colour": "red"}, "colour"),
    ):
        bad = await gw.put(f"{T}/patron/notices", json=body, headers=auth)
        assert bad.status == 400, (body, await bad.text())
        assert field in (await bad.json())["detail"]
    changed = await gw.put(
        f"{T}/patron/notices",
        json={"due_reminder": True, "due_reminder_days": 5, "contact_method": "phone"},
        headers=auth,
    )
    assert changed.status == 200, await changed.text()
    assert (await changed.json())["contact_method"] == "phone"
    again = await (await gw.get(f"{T}/patron/notices", headers=auth)).json()
    assert (again["due_reminder"], again["due_reminder_days"]) == (True, 5)
    assert (await gw.get(f"{T}/patron/notices")).status == 401  # no session


async def test_operators_read_the_call_list_and_mark_calls_done_with_their_key(gw) -> None:  # type: ignore[no-untyped-def]
    auth = await login(gw)
    await gw.put(f"{T}/patron/notices", json={"contact_method": "phone"}, headers=auth)
    runtime = gw.app[GATEWAY_KEY].tenant("testlib")
    patron = (await runtime.account.login(support.CARD, support.PASSWORD)).patron
    ready = Hold(id="77", item=Item(id="2000104", title="ぐりとぐら"), status=HoldStatus.READY)
    assert runtime.notices is not None
    assert await runtime.notices.holds_seen(patron, [ready]) == 1

    assert (await gw.get(f"{T}/operator/calls")).status == 401
    wrong = await gw.get(f"{T}/operator/calls", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    assert (await gw.get(f"{T}/operator/calls", headers=auth)).status == 401  # a patron's
    listed = await gw.get(f"{T}/operator/calls", headers=STAFF)
    assert listed.status == 200
    (call,) = (await listed.json())["calls"]
    assert (call["title"], call["event"], call["done_at"]) == ("ぐりとぐら", "hold_ready", None)
    assert listed.headers["Cache-Control"] == "no-store"
    bad = await gw.post(f"{T}/operator/calls/x/done", json={"by": "staff"}, headers=STAFF)
    assert bad.status == 400 and "call_id" in (await bad.json())["detail"]
    missing = await gw.post(f"{T}/operator/calls/999/done", json={"by": "s"}, headers=STAFF)
    assert missing.status == 404
    done = await gw.post(
        f"{T}/operator/calls/{call['id']}/done", json={"by": "佐藤"}, headers=STAFF
    )
    assert done.status == 200 and (await done.json())["done_by"] == "佐藤"
    assert (await (await gw.get(f"{T}/operator/calls", headers=STAFF)).json())["calls"] == []
    every = await gw.get(f"{T}/operator/calls?all=true", headers=STAFF)
    assert len((await every.json())["calls"]) == 1


async def test_an_address_changed_in_the_settings_is_confirmed_to_the_new_and_old_address(
    gw,
) -> None:  # type: ignore[no-untyped-def]
    auth = await login(gw)
    await confirmed_address(gw, T, auth, "old@example.jp")
    outbox = gw.app[GATEWAY_KEY].tenant("testlib").outbox
    assert outbox is not None
    before = len(await outbox.outbox.repository.list(tenant_id="testlib"))
    await confirmed_address(gw, T, auth, "new@example.jp")
    same = await gw.patch(f"{T}/patron/settings", json={"email1": "new@example.jp"}, headers=auth)
    assert same.status == 200  # unchanged: nothing to confirm, nothing mailed
    rows = await outbox.outbox.repository.list(tenant_id="testlib")  # newest first
    mails = [(r.template, r.recipients) for r in reversed(rows[: len(rows) - before])]
    assert mails == [
        ("email_confirm", ("new@example.jp",)),  # the link, to the new address
        ("address_change_confirm", ("old@example.jp",)),  # the old one is told
        ("address_change_confirm", ("new@example.jp",)),  # and the new one once it is done
    ]
