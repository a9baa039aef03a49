"""Akiruno: at most 4 audio-visual holds (20 in all), enforced by the library system the gateway
relays; per-item results when several holds are placed at once."""

from __future__ import annotations

from ils_gateway.simulators.policy import HoldLimit, ItemType

AKIRUNO_ILS = {
    "max_holds": 20,
    "hold_limits": (HoldLimit("av", (ItemType.CD, ItemType.DVD, ItemType.CASSETTE), 4),),
}
PATRON = ("1000000007", "tadashi7")  # holds one CD title already
# One copy of five audio-visual titles the patron does not hold yet (CD 35, 36; DVD 38–40).
AV_COPIES = ["2100000126", "2100000130", "2100000138", "2100000141", "2100000144"]
AV_TYPES = (ItemType.CD, ItemType.DVD, ItemType.CASSETTE)


def _open_av_holds(library, card: str) -> int:
    return sum(1 for h in library.holds(card) if h.item_type in AV_TYPES)


async def test_audio_visual_hold_limit_gives_per_item_results(open_site):
    site = await open_site("akiruno", rules=AKIRUNO_ILS)
    auth = await site.login(*PATRON)
    room = 4 - _open_av_holds(site.library, "1000000007")
    assert room == 3
    response = await site.client.post(
        f"{site.base}/holds", headers=auth, json={"item_ids": AV_COPIES, "pickup_library": "CEN"}
    )
    assert response.status == 200, await response.text()
    results = (await response.json())["results"]
    assert [r["item_id"] for r in results] == AV_COPIES
    assert [r["outcome"] for r in results] == ["ok"] * room + ["refused"] * 2
    # The library system's own words reach the portal with the refusal.
    assert {r["backend_message"] for r in results[room:]} == {"この種類の資料の予約は4件までです"}
    assert _open_av_holds(site.library, "1000000007") == 4
    listed = (await site.get("/holds", auth))["holds"]
    assert len(listed) == len(site.library.holds("1000000007"))
