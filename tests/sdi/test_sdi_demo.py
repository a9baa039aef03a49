"""Zero-config mode: the embedded demo (SIP2 simulator + the simulated OPAC's RSS feed) has
new-arrival alerts on; a patron saves a condition over the API and the run mails the match."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import SECRET, RecordingOutbox

from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.runtime.demo import embedded_settings
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.services.sdi import run_sdi
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.store.engine import default_url, open_store
from ils_gateway.store.reading_history import KdfParams

T = "/v1/tenants/demo"


async def test_the_demo_announces_new_arrivals(aiohttp_client: Any, tmp_path: Path) -> None:
    clock = ManualClock(SAMPLE_NOW)
    url = default_url(tmp_path / "demo.sqlite3")
    settings, _acs = await embedded_settings(
        clock=clock, elibrary=False, store=StoreSettings(url, SECRET, kdf=KdfParams.minimal())
    )
    client = await aiohttp_client(create_app(settings))
    (tenant,) = list(settings.tenants)
    assert tenant.sdi.enabled and tenant.sdi.feed is not None
    login = await client.post(
        f"{T}/sessions", json={"card_number": "1000000001", "password": "hanako01"}
    )
    auth = {"Authorization": f"Bearer {(await login.json())['token']}"}
    await client.patch(f"{T}/patron/settings", json={"email1": "hanako@example.jp"}, headers=auth)
    made = await client.post(
        f"{T}/new-arrival-conditions",
        json={"name": "漱石", "author": "ﾅﾂﾒ ｿｳｾｷ"},  # half-width katakana: the reading
        headers=auth,
    )
    assert made.status == 201, await made.text()
    outbox = RecordingOutbox()
    async with open_store(url, secret=SECRET, kdf=KdfParams.minimal(), clock=clock) as store:
        report = await run_sdi(tenant, clock(), store=store, outbox=outbox)
    assert report.source == "rss" and report.enqueued == 1, report
    (mail,) = outbox.mails.values()
    assert [t["title"] for t in mail["context"]["titles"]] == ["夏目漱石全集 第1巻"]
    assert mail["context"]["library"] == "デモ市立図書館"
