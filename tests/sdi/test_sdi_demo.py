"""Zero-config mode: the embedded demo (SIP2 simulator + the simulated OPAC's RSS feed) has
new-arrival alerts on; a patron saves a condition over the API and the run mails the match."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sdi_support import SECRET

from address_links import confirmed_address
from ils_gateway.api.app import create_app
from ils_gateway.domain.clock import ManualClock
from ils_gateway.mail.outbox import Outbox
from ils_gateway.mail.templates import MailTemplates
from ils_gateway.runtime.demo import embedded_settings
from ils_gateway.runtime.store import StoreSettings
from ils_gateway.services.sdi import dedup_key, run_sdi
from ils_gateway.simulators.sample_data import SAMPLE_NOW
from ils_gateway.store.engine import default_url, open_store
from ils_gateway.store.reading_history import KdfParams

T = "/v1/tenants/demo"
TOKYO = ZoneInfo("Asia/Tokyo")


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
    await confirmed_address(client, T, auth, "hanako@example.jp")
    made = await client.post(
        f"{T}/new-arrival-conditions",
        json={"name": "漱石", "author": "ﾅﾂﾒ ｿｳｾｷ"},  # half-width katakana: the reading
        headers=auth,
    )
    assert made.status == 201, await made.text()
    async with open_store(url, secret=SECRET, kdf=KdfParams.minimal(), clock=clock) as store:
        outbox = Outbox(store.outbox)  # the gateway's own mail outbox (ils_gateway.mail)
        report = await run_sdi(tenant, clock(), store=store, outbox=outbox)
        again = await run_sdi(tenant, clock(), store=store, outbox=outbox, force=True)
        hanako = store.patron("demo", "1000000001").patron_key
        key = dedup_key("demo", hanako, report.until, TOKYO)  # type: ignore[arg-type]
        mail = await outbox.for_tenant("demo").find(key)
    assert report.source == "rss" and report.enqueued == 1, report
    # An operator's forced run covers from the last run to now: nothing new arrived since.
    assert again.since == report.until and (again.arrivals, again.enqueued) == (0, 0)
    assert mail is not None and mail.recipients == ("hanako@example.jp",)
    assert mail.template == "sdi_new_arrivals"
    assert [t["title"] for t in mail.context["items"]] == ["夏目漱石全集 第1巻"]
    assert mail.context["items"][0]["url"].startswith("http://127.0.0.1:")
    # The mail package's own template renders the run's context (ja and en).
    for language in ("ja", "en"):
        rendered = MailTemplates().render(
            mail.template, language, mail.context, library=tenant.name
        )
        assert "夏目漱石全集 第1巻" in rendered.body and "漱石" in rendered.body
        assert "None" not in rendered.body
