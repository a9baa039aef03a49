"""The SRU client against answers a real server may give (respx), and the CQL it builds."""

from __future__ import annotations

import httpx
import pytest
import respx

from ils_gateway.adapters.catalog.sru import SruCatalog, build_cql, cql_term
from ils_gateway.domain.catalog import CatalogQuery, SearchSort
from ils_gateway.domain.errors import BackendProtocolError, BackendUnavailable, NotFound
from ils_gateway.domain.vocab import MaterialType
from ils_gateway.tenants.catalog import SruSource

URL = "https://opac.example.jp/sru"
SOURCE = SruSource(url=URL)
SRW = 'xmlns:zs="http://www.loc.gov/zing/srw/"'
RECORD = """<record xmlns="http://www.loc.gov/MARC21/slim">
  <leader>00000nam a22000003i 4500</leader>
  <controlfield tag="001">JP123</controlfield>
  <datafield tag="020" ind1=" " ind2=" "><subfield code="a">978-4-900000-21-6</subfield></datafield>
  <datafield tag="100" ind1=" " ind2=" "><subfield code="6">880-02</subfield>
    <subfield code="a">村上誠一,</subfield></datafield>
  <datafield tag="245" ind1=" " ind2=" "><subfield code="6">880-01</subfield>
    <subfield code="a">老後のお金の教科書 /</subfield></datafield>
  <datafield tag="264" ind1=" " ind2=" "><subfield code="b">暮らし出版,</subfield>
    <subfield code="c">2023.4</subfield></datafield>
  <datafield tag="880" ind1=" " ind2=" "><subfield code="6">245-01</subfield>
    <subfield code="a">ロウゴ ノ オカネ ノ キョウカショ</subfield></datafield>
  <datafield tag="852" ind1=" " ind2=" "><subfield code="b">CEN</subfield>
    <subfield code="h">591/ム</subfield><subfield code="p">2100000050</subfield></datafield>
</record>"""


def _answer(count: int, records: str = "", extra: str = "") -> str:
    wrapped = (
        f"<zs:records><zs:record><zs:recordData>{records}</zs:recordData></zs:record></zs:records>"
        if records
        else ""
    )
    return (
        f"<zs:searchRetrieveResponse {SRW}><zs:version>1.2</zs:version>"
        f"<zs:numberOfRecords>{count}</zs:numberOfRecords>{wrapped}{extra}"
        "</zs:searchRetrieveResponse>"
    )


def test_catalog_cql_quotes_every_term_and_adds_the_katakana_form() -> None:
    query = CatalogQuery(
        title='a"b*', author="むらかみ", material_type=MaterialType.BOOK, sort=SearchSort.TITLE
    )
    assert build_cql(query, SOURCE) == (
        'dc.title="a\\"b\\*" and (dc.creator="むらかみ" or dc.creator="ムラカミ") and '
        'dc.type="book" sortBy dc.title/sort.ascending'
    )
    assert cql_term("x or y") == '"x or y"'


@respx.mock
async def test_catalog_sru_parses_marcxml_without_a_copy_reader() -> None:
    route = respx.get(URL).mock(return_value=httpx.Response(200, text=_answer(1, RECORD)))
    catalog = SruCatalog(SOURCE)
    try:
        page = await catalog.search(CatalogQuery(author="村上", page=2, per_page=5))
    finally:
        await catalog.close()
    sent = route.calls[0].request.url.params
    assert sent["startRecord"] == "6" and sent["maximumRecords"] == "5"
    assert sent["recordSchema"] == "marcxml" and sent["version"] == "1.2"
    (record,) = page.records
    assert (record.id, record.title, record.authors) == (
        "JP123",
        "老後のお金の教科書",
        ("村上誠一",),
    )
    assert (record.publisher, record.year, record.isbn) == ("暮らし出版", 2023, "9784900000216")
    assert record.title_reading == "ロウゴ ノ オカネ ノ キョウカショ"
    assert record.availability is None  # no reader: where the copies are is not known


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(200, text="<html>not xml"), BackendProtocolError),
        (httpx.Response(200, text="<other/>"), BackendProtocolError),
        (
            httpx.Response(
                200,
                text=_answer(
                    0,
                    extra='<zs:diagnostics><d:diagnostic xmlns:d="http://www.loc.gov/zing/srw/'
                    'diagnostic/"><d:uri>info:srw/diagnostic/1/16</d:uri>'
                    "<d:message>Unsupported index</d:message></d:diagnostic></zs:diagnostics>",
                ),
            ),
            BackendProtocolError,
        ),
        (httpx.Response(503, text="busy"), BackendUnavailable),
        (httpx.ConnectError("refused"), BackendUnavailable),
        (
            httpx.Response(
                200,
                text='<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                f"<zs:searchRetrieveResponse {SRW}><zs:numberOfRecords>&e;"
                "</zs:numberOfRecords></zs:searchRetrieveResponse>",
            ),
            BackendProtocolError,
        ),
    ],
)
@respx.mock
async def test_catalog_sru_failures_are_gateway_errors(
    response: httpx.Response | Exception, error: type[Exception]
) -> None:
    if isinstance(response, Exception):
        respx.get(URL).mock(side_effect=response)
    else:
        respx.get(URL).mock(return_value=response)
    catalog = SruCatalog(SOURCE)
    try:
        with pytest.raises(error):
            await catalog.search(CatalogQuery(title="x"))
    finally:
        await catalog.close()


@respx.mock
async def test_catalog_sru_record_of_another_id_is_not_found() -> None:
    respx.get(URL).mock(return_value=httpx.Response(200, text=_answer(1, RECORD)))
    catalog = SruCatalog(SOURCE)
    try:
        with pytest.raises(NotFound):
            await catalog.record("JP999")
        found = await catalog.record("JP123")
    finally:
        await catalog.close()
    assert found.record.id == "JP123" and found.copies == ()


@respx.mock
async def test_catalog_sru_makes_its_http_client_at_the_first_search_only() -> None:
    """Issue 17, start-up: no httpx client (and no transport import) before a search; closing
    an unused catalogue makes none, and a closed one refuses to search."""
    respx.get(URL).mock(return_value=httpx.Response(200, text=_answer(0)))
    unused = SruCatalog(SOURCE)
    await unused.close()
    assert "_http" not in vars(unused)
    with pytest.raises(RuntimeError, match="after close"):
        await unused.search(CatalogQuery(title="x"))
    catalog = SruCatalog(SOURCE)
    assert "_http" not in vars(catalog)
    assert (await catalog.search(CatalogQuery(title="x"))).total == 0
    client = vars(catalog)["_http"]
    await catalog.close()
    assert client.is_closed
