"""The SRU simulator: explain, diagnostics, CQL subset, paging (SRU 1.2 as LoC specifies)."""

from __future__ import annotations

from typing import Any

from lxml import etree

from ils_gateway.simulators.sample_data import sample_library
from ils_gateway.simulators.sru import DIAG, SRW, create_sru_app

NS = {"zs": SRW, "d": DIAG, "m": "http://www.loc.gov/MARC21/slim"}


async def _get(client: Any, **params: str) -> etree._Element:
    response = await client.get("/sru", params=params)
    assert response.status == 200
    return etree.fromstring(await response.read())


async def test_catalog_sru_simulator_answers(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_sru_app(sample_library()))
    explain = await _get(client)
    assert etree.QName(explain).localname == "explainResponse"
    base = {"operation": "searchRetrieve", "version": "1.2"}
    found = await _get(client, **base, query='dc.creator="むらかみ"')
    assert found.findtext("zs:numberOfRecords", namespaces=NS) == "1"
    assert found.find(".//m:controlfield[@tag='001']", NS) is not None
    echoed = found.findtext("zs:echoedSearchRetrieveRequest/zs:query", namespaces=NS)
    assert echoed == 'dc.creator="むらかみ"'
    page = await _get(client, **base, query='author="夏目漱石" sortBy dc.title', maximumRecords="2")
    assert len(page.findall(".//zs:record", NS)) == 2
    assert page.findtext("zs:nextRecordPosition", namespaces=NS) == "3"
    for query, number in (('nosuch="x"', "16"), ('title="x', "10"), ('title<>"x"', "19")):
        answer = await _get(client, **base, query=query)
        uri = answer.findtext(".//d:diagnostic/d:uri", namespaces=NS)
        assert uri == f"info:srw/diagnostic/1/{number}", query
    missing = await _get(client, operation="searchRetrieve", version="1.2")
    assert missing.findtext(".//d:uri", namespaces=NS) == "info:srw/diagnostic/1/7"
