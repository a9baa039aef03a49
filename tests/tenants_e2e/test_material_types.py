"""Limits by material type, applied by the gateway before the library system is asked.

Each seed tenant file is served over real HTTP against its backend kind's simulator, whose own
limits are switched off (``LENIENT_ILS``): a refusal can then only be the gateway's, and a spy
on the simulated library shows that no hold request reached it. The types come from what each
backend really sends: SIP2 CK plus the ACS's own item type in CR (a DVD's CK is 000 "other"),
Koha item types, and for title-level holds the type of the copy the hold was placed with.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from ils_gateway.api.app import create_app
from ils_gateway.runtime.settings import GatewaySettings
from ils_gateway.simulators.folio_cli import start_folio_simulator
from ils_gateway.simulators.library import SimulatedLibrary
from ils_gateway.simulators.policy import ItemType
from ils_gateway.simulators.records import LibraryData
from ils_gateway.simulators.sample_data import SAMPLE_NOW, build_sample_data
from ils_gateway.tenants.loader import TenantRegistry, parse_tenants

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tenants"

LENIENT_ILS: dict[str, Any] = {"max_holds": None, "hold_limits": ()}
PATRON = ("1000000011", "keiko011")  # no holds, no loans in the sample library
KANAGAWA_CARD = "110011"  # Kanagawa's cards have 6 digits: the same patron under one
CHILD = ("1000000006", "yui00006")  # born 2016: below middle-school age
# One copy each of five audio-visual titles: CD 35, 36; DVD 38, 39, 40.
AV_COPIES = ["2100000126", "2100000130", "2100000138", "2100000141", "2100000144"]
CD_COPIES = AV_COPIES[:2]
DVD_COPIES = AV_COPIES[2:]
AV = {"cd", "cassette", "video", "dvd", "blu_ray", "lp", "cd_rom"}


def spy_on_holds(library: SimulatedLibrary) -> list[str]:
    """Every hold request that reaches the simulated library, by barcode or title id."""
    seen: list[str] = []
    place = library.place_hold

    def spy(card: str, pickup: str, **kwargs: Any) -> Any:
        seen.append(str(kwargs.get("barcode") or kwargs.get("biblio_id")))
        return place(card, pickup, **kwargs)

    library.place_hold = spy  # type: ignore[method-assign]
    return seen


async def place(site: Any, auth: dict[str, str], copies: list[str]) -> list[dict[str, Any]]:
    response = await site.client.post(
        f"{site.base}/holds", headers=auth, json={"item_ids": copies, "pickup_library": "CEN"}
    )
    assert response.status == 200, await response.text()
    results: list[dict[str, Any]] = (await response.json())["results"]
    return results


def more_titles_of(kind: ItemType, count: int) -> Any:
    """``adjust`` for ``open_site``: ``count`` more titles of ``kind`` (books nobody holds)."""

    def adjust(data: LibraryData) -> None:
        held = {h.biblio_id for h in data.holds}
        lent = {ln.item_id for ln in data.loans}
        with_free_copy = {i.biblio_id for i in data.items if i.id not in lent}
        books = [
            b
            for b in data.biblios
            if b.item_type is ItemType.BOOK and b.id not in held and b.id in with_free_copy
        ]
        books.reverse()  # the last titles: the first ones carry the demo's loans and holds
        for biblio in books[:count]:
            biblio.item_type = kind

    return adjust


def free_copies(library: SimulatedLibrary, kind: ItemType, skip: set[str]) -> list[str]:
    """One lendable copy's barcode per title of ``kind``, not in ``skip``."""
    data = library.data
    found: dict[int, str] = {}
    for item in data.items:
        biblio = next(b for b in data.biblios if b.id == item.biblio_id)
        lendable = not library.item_info(item.barcode).not_for_loan
        if biblio.item_type is kind and lendable and item.barcode not in skip:
            found.setdefault(biblio.id, item.barcode)
    return list(found.values())


async def test_sip2_fifth_av_hold_is_refused_before_the_ils(open_site):
    # Akiruno (SIP2): AV holds ≤ 4. The ACS would take a fifth; the gateway must not ask it.
    site = await open_site("akiruno", rules=LENIENT_ILS)
    auth = await site.login(*PATRON)
    sent = spy_on_holds(site.library)
    first = await place(site, auth, AV_COPIES[:4])
    assert [r["outcome"] for r in first] == ["ok"] * 4, first
    assert len(sent) == 4

    fifth = await place(site, auth, AV_COPIES[4:])
    assert fifth[0]["outcome"] == "refused"
    assert fifth[0]["reason"] == "hold_limit"
    assert "holds.limits av = 4" in fifth[0]["detail"]
    assert len(sent) == 4  # nothing reached the library system

    # The title-level holds are listed under their titles, typed from the copies they were
    # placed with (a DVD's CK is 000 "other"; the ACS's CR says DVD).
    listed = (await site.get("/holds", auth))["holds"]
    kinds = sorted(h["item"]["material_type"] for h in listed)
    assert kinds == ["cd", "cd", "dvd", "dvd"], listed


async def test_sip2_dvd_arrives_as_dvd_not_other(open_site):
    site = await open_site("akiruno", rules=LENIENT_ILS)
    auth = await site.login(*PATRON)
    first = await place(site, auth, DVD_COPIES[:1])
    assert first[0]["outcome"] == "ok"
    hold = first[0]["hold"]
    assert hold["title_level"] is True
    assert hold["item"]["material_type"] == "dvd"


async def test_akiruno_children_cannot_place_holds(open_site):
    # 資料の予約【中学生以上の方】: the child's birth date comes in the 64's PB field.
    site = await open_site("akiruno", rules=LENIENT_ILS)
    auth = await site.login(*CHILD)
    sent = spy_on_holds(site.library)
    results = await place(site, auth, ["2100000126"])
    assert results[0]["outcome"] == "refused"
    assert results[0]["reason"] == "age_restriction"
    assert "middle_school_and_up" in results[0]["detail"]
    assert sent == []


async def test_ibaraki_video_limit_is_four(open_site):
    # Ibaraki (SIP2): video (video, DVD, Blu-ray) 4, CD/cassette 8.
    site = await open_site("ibaraki", rules=LENIENT_ILS, adjust=more_titles_of(ItemType.DVD, 2))
    auth = await site.login(*PATRON)
    dvds = free_copies(site.library, ItemType.DVD, set())
    assert len(dvds) >= 5
    sent = spy_on_holds(site.library)
    results = await place(site, auth, dvds[:5])
    assert [r["outcome"] for r in results] == ["ok"] * 4 + ["refused"], results
    assert results[4]["reason"] == "hold_limit"
    assert "holds.limits video = 4" in results[4]["detail"]
    assert len(sent) == 4  # the fifth never reached the library system


async def test_ibaraki_cd_limit_is_eight_and_separate_from_video(open_site):
    site = await open_site("ibaraki", rules=LENIENT_ILS, adjust=more_titles_of(ItemType.CD, 8))
    auth = await site.login(*PATRON)
    cds = free_copies(site.library, ItemType.CD, set())
    assert len(cds) >= 9
    sent = spy_on_holds(site.library)
    results = await place(site, auth, [*cds[:9], DVD_COPIES[0]])
    outcomes = [r["outcome"] for r in results]
    assert outcomes == ["ok"] * 8 + ["refused", "ok"], results
    assert "holds.limits cd_cassette = 8" in results[8]["detail"]
    assert len(sent) == 9  # eight CDs and the DVD: the ninth CD never reached it


async def test_kanagawa_koha_av_limit_is_six(open_site):
    # Kanagawa (Koha REST): AV 6, typed by the Koha item types of the sample library.
    def six_digit_card(data: LibraryData) -> None:
        patron = next(p for p in data.patrons if p.card_number == PATRON[0])
        patron.card_number = KANAGAWA_CARD

    site = await open_site("kanagawa", rules=LENIENT_ILS, adjust=six_digit_card)
    auth = await site.login(KANAGAWA_CARD, PATRON[1])
    av = free_copies(site.library, ItemType.CD, set()) + free_copies(
        site.library, ItemType.DVD, set()
    )
    av += free_copies(site.library, ItemType.CASSETTE, set())
    assert len(av) >= 7
    sent = spy_on_holds(site.library)
    results = await place(site, auth, av[:7])
    assert [r["outcome"] for r in results] == ["ok"] * 6 + ["refused"], results
    assert "holds.limits av = 6" in results[6]["detail"]
    assert len(sent) == 6
    # Koha lists the holds on the title (biblio level): typed from the record's copies.
    listed = (await site.get("/holds", auth))["holds"]
    assert {h["item"]["material_type"] for h in listed} <= AV
    assert all(h["title_level"] for h in listed)


async def test_folio_fifth_av_hold_is_refused_before_the_ils(aiohttp_client, clock, tmp_path):
    # The FOLIO example (title-level requests): its AV limit of 4 counts requests by the
    # material type of the title's copies (holdings, then items), mapped by the tenant.
    data = build_sample_data(now=SAMPLE_NOW)
    data.rules = replace(data.rules, **LENIENT_ILS)
    library = SimulatedLibrary(data, clock)
    runner, url = await start_folio_simulator(library, port=0)
    try:
        text = (EXAMPLES / "folio-example.toml").read_text(encoding="utf-8")
        text = text.replace("https://okapi.folio.example.jp", url)
        text = re.sub(r'(?m)^tenant = ".*"$', 'tenant = "midori"', text)
        text = re.sub(r'(?m)^password = ".*"$', 'password = "folio-demo-pass"', text)
        registry = TenantRegistry(parse_tenants(text, "folio-example").tenants)
        client = await aiohttp_client(create_app(GatewaySettings(tenants=registry, clock=clock)))
        base = "/v1/tenants/folio-example"
        login = await client.post(
            f"{base}/sessions", json={"card_number": PATRON[0], "password": PATRON[1]}
        )
        assert login.status == 201, await login.text()
        auth = {"Authorization": f"Bearer {(await login.json())['token']}"}
        sent = spy_on_holds(library)
        response = await client.post(
            f"{base}/holds", headers=auth, json={"item_ids": AV_COPIES, "pickup_library": "CEN"}
        )
        assert response.status == 200, await response.text()
        results = (await response.json())["results"]
        assert [r["outcome"] for r in results] == ["ok"] * 4 + ["refused"], results
        assert "holds.limits av = 4" in results[4]["detail"]
        assert len(sent) == 4
        listed = await client.get(f"{base}/holds", headers=auth)
        holds = (await listed.json())["holds"]
        assert sorted(h["item"]["material_type"] for h in holds) == ["cd", "cd", "dvd", "dvd"]
    finally:
        await runner.cleanup()


async def test_ibaraki_art_reproduction_loans_are_not_renewed_over_sip2(open_site):
    # Ibaraki: 複製絵画 cannot be renewed. Over SIP2 the art print arrives with CK 000 ("other");
    # the ACS's CR says ART, so the gateway refuses before sending a 29.
    hanako = "1000000001"

    def art_on_loan(data: LibraryData) -> None:
        patron = next(p for p in data.patrons if p.card_number == hanako)
        loan = next(ln for ln in data.loans if ln.patron_id == patron.id and ln.returned is None)
        item = next(i for i in data.items if i.id == loan.item_id)
        next(b for b in data.biblios if b.id == item.biblio_id).item_type = ItemType.ART

    site = await open_site("ibaraki", adjust=art_on_loan)
    auth = await site.login(hanako, "hanako01")
    loans = (await site.get("/loans", auth))["loans"]
    art = [ln for ln in loans if ln["item"]["material_type"] == "art_reproduction"]
    assert len(art) == 1, loans
    assert art[0]["renewable"] is False
    assert art[0]["refusal_reason"] == "excluded_item_type"
    renewed: list[str] = []
    renew = site.library.renew

    def spy(card: str, barcode: str) -> Any:
        renewed.append(barcode)
        return renew(card, barcode)

    site.library.renew = spy  # type: ignore[method-assign]
    response = await site.client.post(
        f"{site.base}/loans/{art[0]['item']['id']}/renewal", headers=auth
    )
    body = await response.json()
    assert response.status == 422, body
    assert body["type"].endswith("/renewal-refused")
    assert body["reason"] == "excluded_item_type"
    assert renewed == []  # no 29 reached the library system
