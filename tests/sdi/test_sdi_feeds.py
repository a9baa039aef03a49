"""New-arrival feeds per backend kind (adapters.arrivals): the FOLIO simulator's instances by
createdDate, the OPAC simulator's RSS, Atom / RSS 1.0 / SRU documents, and every answer held
against the request (a Koha item outside the window is refused)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from aiohttp import web

from ils_gateway.adapters.arrivals import (
    FolioArrivalFeed,
    KohaArrivalFeed,
    UrlArrivalFeed,
    open_feed,
    parse_rss,
    parse_sru,
)
from ils_gateway.domain.clock import ManualClock
from ils_gateway.domain.errors import BackendProtocolError, BackendUnavailable
from ils_gateway.domain.sdi import ArrivalWindow
from ils_gateway.domain.vocab import MaterialType
from ils_gateway.simulators.folio import create_folio_app
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.opac import FEED_PATH, create_opac_app
from ils_gateway.simulators.sample_data import SAMPLE_NOW, build_sample_data
from ils_gateway.tenants.backends import FolioBackend
from ils_gateway.tenants.loader import TenantConfigError, parse_tenants
from ils_gateway.tenants.materials import MaterialTypeMap
from ils_gateway.tenants.sdi import SdiFeedConfig

TOKYO = ZoneInfo("Asia/Tokyo")
SATURDAY = datetime(2025, 5, 31, 15, 30, tzinfo=TOKYO)  # the sample's last Saturday run
WEEK = ArrivalWindow(SATURDAY - timedelta(days=7), SATURDAY, TOKYO)


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def library() -> SimulatedLibrary:
    return SimulatedLibrary(build_sample_data(now=SAMPLE_NOW), ManualClock(SAMPLE_NOW))


@pytest.fixture
async def folio_url(library: SimulatedLibrary) -> AsyncIterator[str]:
    runner, url = await _serve(create_folio_app(library))
    try:
        yield url
    finally:
        await runner.cleanup()


@pytest.fixture
async def opac_url(library: SimulatedLibrary) -> AsyncIterator[str]:
    runner, url = await _serve(create_opac_app(library))
    try:
        yield url + FEED_PATH
    finally:
        await runner.cleanup()


async def test_folio_instances_created_in_the_window(folio_url: str) -> None:
    config = FolioBackend(
        kind="folio",
        okapi_url=folio_url,
        tenant="midori",
        username="ils-gateway",
        password="folio-demo-pass",  # type: ignore[arg-type]
        retry_backoff=0,
        cancellation_reason_id="00000000-0000-4000-8000-000000000000",
    )
    feed = FolioArrivalFeed(config)
    try:
        batch = await feed.arrivals(WEEK, max_arrivals=100, page_size=2)  # paged by two
        short = await feed.arrivals(WEEK, max_arrivals=3, page_size=2)
    finally:
        await feed.aclose()
    # Received 2 to 6 days before Monday 2 June: 5/27 … 5/31 at 10:00 (5/31 is before 15:30).
    assert [a.title for a in batch.arrivals] == [
        "よだかの星",
        "ジャズ名盤ベスト50",
        "ＰＹＴＨＯＮではじめるデータ分析",
        "夏目漱石全集 第1巻",
        "星降る町の図書館 7",
    ]
    assert batch.source == "folio" and not batch.truncated
    soseki = batch.arrivals[3]
    assert soseki.authors == ("夏目漱石",) and "日本文学" in soseki.subjects
    assert all(WEEK.contains(a.acquired) for a in batch.arrivals)
    assert len(short.arrivals) == 3 and short.truncated


@respx.mock
async def test_folio_record_outside_the_window_is_a_protocol_error() -> None:
    config = FolioBackend(
        kind="folio", okapi_url="http://folio.test", tenant="t", username="u", password="p",  # type: ignore[arg-type]
        retry_backoff=0, cancellation_reason_id="00000000-0000-4000-8000-000000000000",
    )  # fmt: skip
    respx.post("http://folio.test/authn/login-with-expiry").respond(
        201,
        json={"accessTokenExpiration": "2099-01-01T00:00:00Z"},
        headers={"Set-Cookie": "folioAccessToken=tok; Path=/"},
    )
    old = {"id": "x", "title": "昔の本", "metadata": {"createdDate": "2020-01-01T00:00:00Z"}}
    route = respx.get("http://folio.test/inventory/instances").respond(
        200, json={"instances": [old], "totalRecords": 1}
    )
    feed = FolioArrivalFeed(config)
    try:
        with pytest.raises(BackendProtocolError):
            await feed.arrivals(WEEK, max_arrivals=10, page_size=10)
    finally:
        await feed.aclose()
    query = route.calls[0].request.url.params["query"]
    assert query == (
        'metadata.createdDate>="2025-05-24T06:30:00.000Z" and '
        'metadata.createdDate<"2025-05-31T06:30:00.000Z" sortby metadata.createdDate'
    )


@respx.mock
async def test_koha_asks_by_acquisition_date_and_refuses_an_item_outside_it() -> None:
    tenant = parse_tenants(
        """
[[tenants]]
id = "kk"
name = "K"
[tenants.backend]
kind = "koha"
base_url = "http://koha.test"
auth = "basic"
username = "u"
password = "p"
retry_backoff = 0
""",
        "<t>",
    ).tenants[0]
    items = respx.get("http://koha.test/api/v1/items").respond(
        200,
        json=[{"item_id": 1, "biblio_id": 7, "acquisition_date": "2025-05-31"}],
        headers={"X-Total-Count": "1"},
    )
    feed = open_feed(tenant)
    assert isinstance(feed, KohaArrivalFeed)
    try:
        with pytest.raises(BackendProtocolError):
            await feed.arrivals(WEEK, max_arrivals=10, page_size=10)
    finally:
        await feed.aclose()
    params = items.calls[0].request.url.params
    assert json.loads(params["q"]) == {"acquisition_date": {">=": "2025-05-24", "<": "2025-05-31"}}
    assert (params["_page"], params["_per_page"]) == ("1", "10")


async def test_opac_rss_of_the_simulator(opac_url: str) -> None:
    feed = UrlArrivalFeed(SdiFeedConfig.model_validate({"url": opac_url}))
    try:
        batch = await feed.arrivals(WEEK, max_arrivals=100, page_size=10)
    finally:
        await feed.aclose()
    assert batch.source == "rss" and len(batch.arrivals) == 5
    jazz = next(a for a in batch.arrivals if a.material_type is MaterialType.CD)
    assert jazz.title == "ジャズ名盤ベスト50" and "ジャズ" in jazz.subjects
    soseki = next(a for a in batch.arrivals if a.title.startswith("夏目"))
    assert "ナツメ ソウセキ" in soseki.readings and soseki.link and soseki.record_id


async def test_an_unreachable_feed_is_unavailable() -> None:
    feed = UrlArrivalFeed(
        SdiFeedConfig.model_validate({"url": "http://127.0.0.1:9/none.rss", "timeout": 1})
    )
    try:
        with pytest.raises(BackendUnavailable):
            await feed.arrivals(WEEK, max_arrivals=1, page_size=1)
    finally:
        await feed.aclose()


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:dcndl="http://ndl.go.jp/dcndl/terms/">
 <title>新着</title>
 <entry><id>urn:a:1</id><title>ねこの本</title><updated>2025-05-30T09:00:00+09:00</updated>
  <author><name>猫田</name></author><category term="動物"/>
  <dcndl:titleTranscription>ネコ ノ ホン</dcndl:titleTranscription>
  <link href="https://opac.example.jp/1"/></entry>
 <entry><id>urn:a:2</id><title>古い本</title><updated>2025-01-01T09:00:00+09:00</updated></entry>
</feed>""".encode()

RSS1 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
 <item rdf:about="https://opac.example.jp/2"><title>犬の本</title>
  <dc:creator>犬山</dc:creator><dc:date>2025-05-29</dc:date><dc:type>dvd</dc:type></item>
 <item rdf:about="https://opac.example.jp/3"><title>日付なし</title></item>
</rdf:RDF>""".encode()

SRU = """<?xml version="1.0"?>
<searchRetrieveResponse xmlns="http://www.loc.gov/zing/srw/">
 <version>1.2</version><numberOfRecords>3</numberOfRecords>
 <records>
  <record><recordSchema>dc</recordSchema><recordPacking>xml</recordPacking><recordData>
   <srw_dc:dc xmlns:srw_dc="info:srw/schema/1/dc-schema" xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:title>鳥の本</dc:title><dc:creator>鳥居</dc:creator><dc:subject>鳥類</dc:subject>
    <dc:date>2025-05-28</dc:date><dc:identifier>urn:isbn:9784000000001</dc:identifier>
   </srw_dc:dc></recordData><recordPosition>1</recordPosition></record>
 </records>
 <nextRecordPosition>2</nextRecordPosition>
</searchRetrieveResponse>""".encode()


def test_atom_rss1_and_sru_documents() -> None:
    (cat,) = parse_rss(ATOM, WEEK)
    assert (cat.record_id, cat.title, cat.authors, cat.subjects) == (
        "urn:a:1",
        "ねこの本",
        ("猫田",),
        ("動物",),
    )
    assert cat.readings == ("ネコ ノ ホン",) and cat.link == "https://opac.example.jp/1"
    (dog,) = parse_rss(RSS1, WEEK)
    assert dog.record_id == "https://opac.example.jp/2" and dog.material_type is MaterialType.DVD
    assert dog.acquired == datetime(2025, 5, 29, tzinfo=TOKYO)
    found, following, count = parse_sru(SRU, WEEK)
    assert [(a.title, a.subjects) for a in found] == [("鳥の本", ("鳥類",))]
    assert (following, count) == (2, 1)
    with pytest.raises(BackendProtocolError):
        parse_rss(b"<rss><channel><item>", WEEK)
    # No entity is expanded (a billion-laughs document stays inert).
    bomb = (
        b'<!DOCTYPE r [<!ENTITY a "aaaa">]>'
        b"<rss><channel><item><title>&a;</title></item></channel></rss>"
    )
    assert parse_rss(bomb, WEEK) == []


@respx.mock
async def test_sru_pages_until_no_next_position() -> None:
    last = SRU.replace(b"<nextRecordPosition>2</nextRecordPosition>", b"")
    route = respx.get("http://sru.test/opac").mock(
        side_effect=[httpx.Response(200, content=SRU), httpx.Response(200, content=last)]
    )
    feed = UrlArrivalFeed(
        SdiFeedConfig.model_validate({"url": "http://sru.test/opac", "format": "sru"})
    )
    try:
        batch = await feed.arrivals(WEEK, max_arrivals=10, page_size=1)
    finally:
        await feed.aclose()
    assert len(batch.arrivals) == 2 and not batch.truncated and batch.source == "sru"
    first, second = (call.request.url.params for call in route.calls)
    assert first["query"] == "dc.date>=2025-05-24" and first["startRecord"] == "1"
    assert second["startRecord"] == "2" and first["maximumRecords"] == "1"


def test_tenant_file_sdi_table_is_validated() -> None:
    base = """
[[tenants]]
id = "ss"
name = "S"
[tenants.backend]
kind = "sip2"
host = "127.0.0.1"
port = 6001
[tenants.sdi]
enabled = true
"""
    with pytest.raises(TenantConfigError, match=r"sdi\.feed"):
        parse_tenants(base, "<t>")
    with pytest.raises(TenantConfigError, match="schedule"):
        parse_tenants(base + 'schedule = "someday 9:00"\nfeed = { url = "http://x/f" }\n', "<t>")
    with pytest.raises(TenantConfigError, match="max_conditions"):
        parse_tenants(base + 'max_conditions = 0\nfeed = { url = "http://x/f" }\n', "<t>")
    ok = parse_tenants(base + 'schedule = "SAT 15:30"\nfeed = { url = "http://x/f" }\n', "<t>")
    sdi = ok.tenants[0].sdi
    assert sdi.schedule == "sat 15:30" and sdi.feed is not None
    assert "feed rss http://x/f" in sdi.describe("sip2", "Asia/Tokyo")
    assert MaterialTypeMap()  # the koha feed maps item types through the tenant's table
