"""Kanagawa (Koha): 6-digit cards; a first-login (10-digit) password allows only a change."""

from __future__ import annotations

from ils_gateway.simulators.records import LibraryData

CARD, FIRST_PASSWORD = "400004", "4825170396"


def _six_digit_card(data: LibraryData) -> None:
    # The sample patron with a temporary password, under a Kanagawa-style 6-digit card.
    patron = next(p for p in data.patrons if p.card_number == "1000000004")
    patron.card_number = CARD


async def test_temporary_password_must_be_changed_first(open_site):
    site = await open_site("kanagawa", adjust=_six_digit_card)
    response = await site.client.post(
        f"{site.base}/sessions", json={"card_number": CARD, "password": FIRST_PASSWORD}
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["password_change_required"] is True
    auth = {"Authorization": f"Bearer {body['token']}"}
    for path in ("/loans", "/holds", "/patron"):
        refused = await site.client.get(site.base + path, headers=auth)
        assert refused.status == 403
        assert (await refused.json())["type"].endswith("/password-change-required")
    weak = await site.client.post(
        f"{site.base}/patron/password",
        headers=auth,
        json={"old_password": FIRST_PASSWORD, "new_password": "abcdefghij1"},
    )
    assert weak.status == 400 and "#$%&@+*=!()" in (await weak.json())["detail"]
    assert site.library.authenticate(CARD, FIRST_PASSWORD).ok  # refused before Koha was asked
    strong = await site.client.post(
        f"{site.base}/patron/password",
        headers=auth,
        json={"old_password": FIRST_PASSWORD, "new_password": "Sakura#2025x"},
    )
    # Koha changes it (POST /patrons/{patron_id}/password); the session may do everything now.
    assert strong.status == 204, await strong.text()
    assert (await site.client.get(f"{site.base}/loans", headers=auth)).status == 200
    again = await site.client.post(
        f"{site.base}/sessions", json={"card_number": CARD, "password": "Sakura#2025x"}
    )
    assert again.status == 201 and (await again.json())["password_change_required"] is False
    first = await site.client.post(
        f"{site.base}/sessions", json={"card_number": CARD, "password": FIRST_PASSWORD}
    )
    assert first.status == 401


async def test_ten_digit_cards_are_not_kanagawa_cards(open_site):
    site = await open_site("kanagawa", adjust=_six_digit_card)
    response = await site.client.post(
        f"{site.base}/sessions", json={"card_number": "1000000001", "password": "hanako01"}
    )
    assert response.status == 401
    ordinary = await site.client.post(
        f"{site.base}/sessions", json={"card_number": CARD, "password": "not-the-password"}
    )
    assert ordinary.status == 401
