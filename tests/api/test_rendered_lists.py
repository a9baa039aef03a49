"""List bodies rendered once per set of frozen entries: repeats are the same bytes, and any
change (a renewal, the e-book part, freshness) renders again."""

from __future__ import annotations

from datetime import UTC, datetime

from api_helpers import login
from pydantic import BaseModel

from ils_gateway.api.keys import RENDERED_KEY
from ils_gateway.api.rendered import RenderedLists
from ils_gateway.services.ebooks.merge import EbookPart

T = "/v1/tenants/koha-demo"


class Body(BaseModel):
    entries: list[str]
    stale: bool = False


def test_same_entries_same_bytes_without_building_again() -> None:
    rendered = RenderedLists()
    entries = ["a", "b"]
    built: list[int] = []

    def build() -> Body:
        built.append(1)
        return Body(entries=entries)

    first = rendered.body("loans", entries, None, False, None, build)
    again = rendered.body("loans", list(entries), None, False, None, build)
    assert first == again == b'{"entries":["a","b"],"stale":false}'
    assert len(built) == 1 and (rendered.hits, rendered.misses) == (1, 1)


def test_kind_part_and_freshness_are_part_of_the_key() -> None:
    rendered = RenderedLists()
    entries = ["a"]
    as_of = datetime(2025, 6, 2, tzinfo=UTC)
    keys = [
        ("loans", None, False, None),
        ("holds", None, False, None),
        ("loans", EbookPart(available=True, count=0), False, None),
        ("loans", EbookPart(available=False, detail="down"), False, None),
        ("loans", None, True, as_of),
    ]
    for kind, part, stale, when in keys:
        rendered.body(
            kind, entries, part, stale, when, lambda s=stale: Body(entries=entries, stale=s)
        )
    assert (rendered.hits, rendered.misses) == (0, len(keys))
    assert rendered.body("loans", entries, None, True, as_of, lambda: Body(entries=[])) == (
        b'{"entries":["a"],"stale":true}'
    )


def test_other_objects_with_equal_content_are_rendered_again() -> None:
    rendered = RenderedLists()
    rendered.body("loans", [["a"]], None, False, None, lambda: Body(entries=["a"]))
    rendered.body("loans", [["a"]], None, False, None, lambda: Body(entries=["a"]))
    assert rendered.misses == 2, "identity, not equality, decides (entries are frozen objects)"


def test_bounded() -> None:
    rendered = RenderedLists(max_bodies=3)
    kept = [[i] for i in range(10)]
    for entry in kept:
        rendered.body("loans", [entry], None, False, None, lambda: Body(entries=[]))
    assert len(rendered) <= 3


async def test_repeated_loan_lists_are_rendered_once_and_a_renewal_shows(client) -> None:
    auth = await login(client)
    rendered = client.server.app[RENDERED_KEY]
    first = await (await client.get(f"{T}/loans", headers=auth)).read()
    hits = rendered.hits
    second = await (await client.get(f"{T}/loans", headers=auth)).read()
    assert second == first and rendered.hits == hits + 1
    loans = (await (await client.get(f"{T}/loans", headers=auth)).json())["loans"]
    loan = next(loan for loan in loans if loan["renewable"])
    renewed = await client.post(f"{T}/loans/{loan['item']['id']}/renewal", headers=auth)
    assert renewed.status == 200, await renewed.text()
    after = (await (await client.get(f"{T}/loans", headers=auth)).json())["loans"]
    now = next(x for x in after if x["item"]["id"] == loan["item"]["id"])
    assert now["renewals_used"] == loan["renewals_used"] + 1
    assert now["due_date"] != loan["due_date"]
