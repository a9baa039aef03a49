"""取り寄せ (issue 16, Akiruno): a hold on a copy on the shelf of another branch is a transfer —
placed, and the library sends the copy to the pickup library; a tenant that offers no
transfers (``holds.transfers = false``) refuses it before the ILS is asked (title_available)."""

from __future__ import annotations

from ils_gateway.simulators.records import ItemStatus

PATRON = ("1000000001", "hanako01")


def _copy_on_another_shelf(site) -> str:
    data = site.library.data
    held = {h.biblio_id for h in site.library.holds(PATRON[0])}
    lent = {loan.biblio_id for loan in site.library.loans(PATRON[0])}
    biblios = {b.id: b for b in data.biblios}
    return next(
        i.barcode
        for i in data.items
        if i.status is ItemStatus.AVAILABLE
        and not i.not_for_loan
        and i.home_branch != "CEN"
        and biblios[i.biblio_id].item_type.value == "BK"
        and i.biblio_id not in held | lent
    )


async def _hold(site, auth, item: str):
    response = await site.client.post(
        f"{site.base}/holds", headers=auth, json={"item_ids": [item], "pickup_library": "CEN"}
    )
    assert response.status == 200, await response.text()
    [result] = (await response.json())["results"]
    return result


async def test_akiruno_transfers_a_copy_from_another_shelf(open_site):
    site = await open_site("akiruno")
    auth = await site.login(*PATRON)
    item = _copy_on_another_shelf(site)
    result = await _hold(site, auth, item)
    assert result["outcome"] == "ok", result
    assert result["hold"]["pickup_library"] == "CEN"
    biblio = next(i.biblio_id for i in site.library.data.items if i.barcode == item)
    [placed] = [h for h in site.library.holds(PATRON[0]) if h.biblio_id == biblio]
    assert placed.pickup == "CEN"  # the library sends the copy there


async def test_a_library_without_transfers_refuses_before_the_ils(open_site):
    site = await open_site(
        "akiruno", edit=lambda text: text.replace("transfers = true", "transfers = false")
    )
    auth = await site.login(*PATRON)
    item = _copy_on_another_shelf(site)
    before = len(site.library.holds(PATRON[0]))
    result = await _hold(site, auth, item)
    assert (result["outcome"], result["reason"]) == ("refused", "title_available")
    assert "holds.transfers = false" in result["detail"]
    assert len(site.library.holds(PATRON[0])) == before
