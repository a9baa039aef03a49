"""Every status and refusal in the library's words, in the request's language (issue 16).

``GET /holds`` items carry ``status_label`` (the tenant's Japanese by default, English on
``Accept-Language: en``), loans their refusal reason's label, problems a ``detail`` in the
chosen language; every answer says ``Content-Language`` and ``Vary: Accept-Language``.
"""

from __future__ import annotations

import pytest

PATRON = ("1000000001", "hanako01")


async def _holds(site, auth, lang: str | None = None):
    headers = dict(auth) if lang is None else {**auth, "Accept-Language": lang}
    response = await site.client.get(f"{site.base}/holds", headers=headers)
    assert response.status == 200, await response.text()
    return response, (await response.json())["holds"]


@pytest.mark.parametrize(
    ("tenant", "words"),
    [
        ("akiruno", {"in_transit": "配送中", "ready": "取置中", "waiting": "予約中"}),
        ("nishinomiya", {"in_transit": "移送中", "ready": "提供可能", "waiting": "予約中"}),
    ],
)
async def test_holds_carry_the_librarys_words(open_site, tenant, words):
    site = await open_site(tenant)
    auth = await site.login(*PATRON)
    response, holds = await _holds(site, auth)
    assert response.headers["Content-Language"] == "ja"
    assert "Accept-Language" in response.headers["Vary"]
    seen = {h["status"]: h["status_label"] for h in holds}
    assert {status: seen[status] for status in words if status in seen} == {
        status: word for status, word in words.items() if status in seen
    }
    assert {"waiting", "ready"} <= seen.keys()
    # The item's material type and the contact method are labelled too.
    assert all(h["item"]["material_type_label"] for h in holds)
    english, holds_en = await _holds(site, auth, "en-US,en;q=0.9,ja;q=0.5")
    assert english.headers["Content-Language"] == "en"
    labels_en = {h["status"]: h["status_label"] for h in holds_en}
    assert labels_en["waiting"] == "Waiting" and labels_en["ready"] == "Ready for pickup"
    # Japanese preferred over English by quality.
    again, holds_ja = await _holds(site, auth, "en;q=0.4, ja-JP;q=0.8")
    assert again.headers["Content-Language"] == "ja"
    assert {h["status"]: h["status_label"] for h in holds_ja} == seen


async def test_loans_say_why_they_cannot_be_renewed_in_the_librarys_words(open_site):
    site = await open_site("nishinomiya")
    auth = await site.login(*PATRON)
    loans = (await site.get("/loans", auth))["loans"]
    refused = [loan for loan in loans if loan.get("refusal_reason")]
    assert refused, "the sample patron has a loan that cannot be renewed"
    for loan in refused:
        assert loan["refusal_reason_label"] and loan["refusal_reason_label"].isascii() is False


async def test_refusals_and_problems_follow_accept_language(open_site):
    site = await open_site("nishinomiya")
    auth = await site.login(*PATRON)
    missing = f"{site.base}/loans/NO-SUCH-ITEM/renewal"
    ja = await site.client.post(missing, headers=auth)
    en = await site.client.post(missing, headers={**auth, "Accept-Language": "en"})
    ja_problem, en_problem = await ja.json(), await en.json()
    assert ja.status == en.status and ja_problem["type"] == en_problem["type"]
    assert ja.headers["Content-Language"] == "ja" and en.headers["Content-Language"] == "en"
    assert not ja_problem["detail"].isascii() and en_problem["detail"].isascii()
    # Wrong login: one error, in either language.
    bad = await site.client.post(
        f"{site.base}/sessions",
        json={"card_number": "1000000001", "password": "nope"},
        headers={"Accept-Language": "fr, *;q=0.1"},
    )
    assert (await bad.json())["title"] == "カード番号またはパスワードが正しくありません"
    assert bad.headers["Content-Language"] == "ja"
