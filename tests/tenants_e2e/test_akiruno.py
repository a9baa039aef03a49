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


async def test_hold_skip_is_offered_only_where_the_library_system_can_suspend(open_site):
    # Akiruno allows skipping a turn, but its ACS (SIP2) has no way to suspend a hold: the
    # holds list offers no "skip" and asking for one says which feature is missing.
    site = await open_site("akiruno", rules=AKIRUNO_ILS, store=True)
    auth = await site.login(*PATRON)
    holds = (await site.get("/holds", auth))["holds"]
    waiting = next((h for h in holds if h["status"] == "waiting"), None)
    assert waiting is not None, holds
    # A skip is offered as the hold action "suspend" (there is no "skip" action to look for).
    assert "suspend" not in waiting["allowed_actions"]
    assert "cancel" in waiting["allowed_actions"]  # the list does offer what SIP2 can do
    response = await site.client.post(
        f"{site.base}/holds/{waiting['id']}/skip", headers=auth, json={"until": "2025-06-20"}
    )
    problem = await response.json()
    assert response.status == 403, problem
    assert problem["type"].endswith("/feature-disabled") and problem["feature"] == "hold_skip"
    assert not any(h.suspended for h in site.library.holds("1000000007"))
