"""予約連絡方法 (issue 16): a contact method the library does not offer is refused — in the
patron's settings and for a new hold — before the ILS is asked. Kanagawa
offers e-mail or none (「連絡不要」か「メール」), Ibaraki phone, e-mail or none."""

from __future__ import annotations

from ils_gateway.simulators.records import LibraryData

PATRON = ("1000000001", "hanako01")


def _kanagawa_card(data: LibraryData) -> None:
    patron = next(p for p in data.patrons if p.card_number == PATRON[0])
    patron.card_number = "100001"


async def test_kanagawa_refuses_phone_in_settings_and_new_holds(open_site):
    site = await open_site("kanagawa", adjust=_kanagawa_card, store=True)
    auth = await site.login("100001", PATRON[1])
    phone = await site.client.patch(
        f"{site.base}/patron/settings", headers=auth, json={"hold_contact_method": "phone"}
    )
    assert phone.status == 400
    assert "hold_contact_method: this library offers email, none" in (await phone.json())["detail"]
    email = await site.client.patch(
        f"{site.base}/patron/settings", headers=auth, json={"hold_contact_method": "email"}
    )
    assert email.status == 200, await email.text()
    before = len(site.library.holds("100001"))
    item = next(i.barcode for i in site.library.data.items if i.status.value == "available")
    placed = await site.client.post(
        f"{site.base}/holds",
        headers=auth,
        json={"item_ids": [item], "pickup_library": "CEN", "contact_method": "phone"},
    )
    problem = await placed.json()
    assert placed.status in (400, 409, 422), problem
    assert problem.get("reason") == "contact_method_not_offered", problem
    assert len(site.library.holds("100001")) == before  # the ILS was not asked
    # Koha's patron API changes no hold's contact method: a change is tested in test_rules.


async def test_ibaraki_takes_phone(open_site):
    site = await open_site("ibaraki", store=True)
    auth = await site.login(*PATRON)
    phone = await site.client.patch(
        f"{site.base}/patron/settings", headers=auth, json={"hold_contact_method": "phone"}
    )
    assert phone.status == 200, await phone.text()
